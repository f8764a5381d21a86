-- Rollback of 20261122001600_certification_follow_up_category: removes the
-- follow-up category, and with it the follow-up notifications (their pushes
-- go with them by cascade).
delete from public.notifications where category = 'certification_follow_up';
alter table public.notifications drop constraint if exists notifications_category_check;
alter table public.notifications
  add constraint notifications_category_check
  check (category in ('certification_expiry', 'inactivity', 'milestone', 'welcome_back'));
comment on constraint notifications_category_check on public.notifications is
  'the category must be certification_expiry, inactivity, milestone or welcome_back';
