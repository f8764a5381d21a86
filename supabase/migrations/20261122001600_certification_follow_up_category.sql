-- The certification-expiry follow-up scenario (issue 4) reminds a mentor
-- about a certificate tier on its own rule and cooldown, beside the expiry
-- sweep's notice of that tier. Its in-app notifications get their own
-- category, so they are not mistaken for the sweep's once-per-tier notices
-- (whose duplicate index and expiry columns are the sweep's alone); the
-- certificate, type and tier travel in the notification's data.
alter table public.notifications drop constraint if exists notifications_category_check;
alter table public.notifications
  add constraint notifications_category_check
  check (category in ('certification_expiry', 'certification_follow_up', 'inactivity', 'milestone', 'welcome_back'));
comment on constraint notifications_category_check on public.notifications is
  'the category must be certification_expiry, certification_follow_up, inactivity, milestone or welcome_back';
comment on column public.notifications.category is
  'What the notification is about: certification_expiry (the expiry sweep''s notice), certification_follow_up (the expiry follow-up scenario), inactivity, milestone or welcome_back.';
