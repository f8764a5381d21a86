-- EXPLAIN evidence for every query the tickets name: on a realistic volume of
-- rows (20,000 mentors and certificates, 50,000 expiry log rows, 60,000
-- scenario notifications, 80,000 in-app notifications, ...) the planner uses
-- the intended index, and the same query with that index (and any other index
-- that could serve it) dropped falls back to a sequential scan - proof that the
-- volume is large enough for the index to matter. No enable_seqscan tricks: the
-- planner chooses freely. All rows and dropped indexes vanish with the
-- rollback (ANALYZE's row-count estimates in pg_class are not transactional
-- and stay until the next autovacuum/analyze; nothing else remains).

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

-- Bulk data ------------------------------------------------------------------------------------

-- organisations, chapters, people
insert into organizations (id, slug, name, certificate_type)
select md5('bench-org-' || o)::uuid, 'bench-org-' || o, 'Bench organisation ' || o,
       (array['hlf_peer_mentor', 'nhf_peer_mentor', 'blindeforbundet_peer_mentor'])[1 + o % 3]
from generate_series(1, 20) o;
insert into chapters (id, organization_id, name)
select md5('bench-chapter-' || c)::uuid, md5('bench-org-' || (1 + c % 20))::uuid, 'Bench chapter ' || c
from generate_series(1, 200) c;
insert into auth.users (id) select md5('bench-mentor-' || i)::uuid from generate_series(1, 20000) i;
insert into users (id, display_name) select md5('bench-mentor-' || i)::uuid, 'Bench mentor ' || i from generate_series(1, 20000) i;
-- mentor i belongs to chapter 1 + i % 200, whose organisation is 1 + (1 + i % 200) % 20
create temp table bench_mentor as
select i, md5('bench-mentor-' || i)::uuid as mentor, md5('bench-chapter-' || (1 + i % 200))::uuid as chapter,
       md5('bench-org-' || (1 + (1 + i % 200) % 20))::uuid as org,
       (array['hlf_peer_mentor', 'nhf_peer_mentor', 'blindeforbundet_peer_mentor'])[1 + ((1 + (1 + i % 200) % 20) % 3)] as cert_type
from generate_series(1, 20000) i;
insert into chapter_memberships (organization_id, chapter_id, user_id, role)
select org, chapter, mentor, 'peer_mentor' from bench_mentor;
-- one certificate each, expiry dates spread over five years (one year lapsed)
insert into peer_mentor_certifications (id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
select md5('bench-cert-' || i)::uuid, org, mentor, cert_type, current_date - 2000, current_date - 365 + (i * 7919) % 1825
from bench_mentor;
update certification_expiry_tracking set notification_thresholds_sent = '{90,60}'
where organization_id in (select org from bench_mentor) and get_byte(decode(md5(id::text), 'hex'), 0) < 3;
-- 50,000 expiry log rows
insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
select m.org, md5('bench-cert-' || m.i)::uuid, (array['expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d'])[n], m.mentor,
       encode(sha256(convert_to('bench-log|' || m.i || '|' || n, 'UTF8')), 'hex')
from bench_mentor m cross join generate_series(1, 3) n
where n < 3 or m.i % 2 = 0;
-- four rules per chapter, two follow-up deliveries per mentor
insert into scenario_rules (id, organization_id, chapter_id, scenario_type, cooldown, messages)
select md5('bench-rule-' || c || '-' || t)::uuid, md5('bench-org-' || (1 + c % 20))::uuid, md5('bench-chapter-' || c)::uuid, t,
       interval '7 days', '{"nb": "scenario.x", "en": "scenario.x"}'
from generate_series(1, 200) c cross join unnest(array['inactivity', 'milestone', 'certification_expiry', 'welcome_back']) t;
insert into follow_up_notification_log (organization_id, peer_mentor_id, chapter_id, scenario_rule_id, delivered_at, delivery_channel, idempotency_key, status)
select m.org, m.mentor, m.chapter, md5('bench-rule-' || (1 + m.i % 200) || '-' || t)::uuid, now() - (m.i % 90) * interval '1 day',
       'fcm', encode(sha256(convert_to('bench-fu|' || m.i || '|' || t, 'UTF8')), 'hex'), 'delivered'
from bench_mentor m cross join unnest(array['inactivity', 'milestone']) t;
-- 60,000 scenario notifications: three per mentor, mostly sent
insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, delivery_status, milestone_value)
select m.mentor, m.org, (array['inactivity', 'milestone', 'welcome_back'])[n], now() - ((m.i * n) % 365) * interval '1 day',
       case when (m.i + n) % 10 = 0 then 'failed' when (m.i + n) % 10 = 1 then 'pending' else 'sent' end,
       case when n = 2 then 10 end
from bench_mentor m cross join generate_series(1, 3) n;
-- an in-app expiry notice per mentor, with a device and a push each (mostly already sent)
insert into notifications (id, organization_id, recipient_id, subject_mentor_id, category, certificate_type, threshold_tier,
                           notification_window_start, message_key, idempotency_key, status)
select case when t = 'expiry_warning_90d' then md5('bench-notification-' || i)::uuid else gen_random_uuid() end,
       org, mentor, mentor, 'certification_expiry', cert_type, t,
       current_date - 365 + (i * 7919) % 1825, 'certification.expiry.' || t,
       encode(sha256(convert_to('bench-n|' || i || '|' || t, 'UTF8')), 'hex'), 'sent'
from bench_mentor cross join unnest(array['expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d']) t;
insert into device_tokens (id, user_id, platform, provider, token)
select md5('bench-device-' || i)::uuid, mentor, 'android', 'fcm', 'bench-token-' || i from bench_mentor;
insert into push_notices (id, organization_id, notification_id, recipient_id, payload, status, settled_at)
select md5('bench-push-' || i)::uuid, org, md5('bench-notification-' || i)::uuid, mentor, '{"data": {}}',
       case when i % 100 = 0 then 'pending' else 'sent' end, case when i % 100 = 0 then null else now() end
from bench_mentor;
insert into push_deliveries (organization_id, notice_id, device_token_id, provider, status, sent_at)
select org, md5('bench-push-' || i)::uuid, md5('bench-device-' || i)::uuid, 'fcm', 'sent', now()
from bench_mentor where i % 100 <> 0;
-- a directory listing per mentor (5 % suppressed) and 2.5 activities each
insert into mentor_directory (organization_id, chapter_id, peer_mentor_id, display_name, suppression_status, suppression_reason, suppressed_at)
select org, chapter, mentor, 'Bench mentor ' || i,
       case when i % 20 = 0 then 'suppressed' else 'active' end,
       case when i % 20 = 0 then 'manual' end, case when i % 20 = 0 then now() end
from bench_mentor;
insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
select m.org, m.chapter, m.mentor, 'conversation', now() - ((m.i * n) % 700) * interval '1 day'
from bench_mentor m cross join generate_series(1, 3) n
where n < 3 or m.i % 2 = 0;
-- GIN indexes take bulk inserts into their pending list; autovacuum would merge it.
select gin_clean_pending_list('public.certification_expiry_tracking_thresholds_sent_idx') >= 0 as pending_list_merged \gset
analyze;

-- A coordinator of mentor 77's chapter (chapter 78), to explain a coordinator's read under RLS.
insert into chapter_memberships (organization_id, chapter_id, user_id, role)
select org, chapter, md5('bench-mentor-1')::uuid, 'coordinator' from bench_mentor where i = 77;

-- Machinery ------------------------------------------------------------------------------------

create function pg_temp.plan_of(query text) returns text language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain (costs off) ' || query loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end
$$;

-- Regex matching a plan node that reads any of the given indexes.
create function pg_temp.uses_any(indexes text[]) returns text language sql immutable as $$
  select '(Index Scan|Index Only Scan)( Backward)? using (' || array_to_string(indexes, '|') || ')\M'
      || '|Bitmap Index Scan on (' || array_to_string(indexes, '|') || ')\M'
$$;

-- The queries. `indexes`: the index(es) the query must use; `alternatives`:
-- further indexes that could serve it, dropped as well for the counterfactual.
create temp table named_queries (
  ord serial,
  source text not null,
  label text not null,
  query text not null,
  tbl text not null,
  indexes text[] not null,
  alternatives text[] not null default '{}',
  hidden text[] not null default '{}',
  as_user uuid
);
insert into named_queries (source, label, tbl, indexes, alternatives, query) values
  ('ticket 000', 'the 60-day window date-range query', 'certification_expiry_tracking',
   '{certification_expiry_tracking_expiry_date_idx,certification_expiry_tracking_expiry_date_peer_mentor_id_idx}', '{}',
   $$select id, peer_mentor_id, certificate_type, expiry_date, notification_thresholds_sent from certification_expiry_tracking
     where expiry_date between current_date and current_date + 60$$),
  ('ticket 000', 'the 60/30/7-day threshold query', 'certification_expiry_tracking',
   '{certification_expiry_tracking_expiry_date_idx,certification_expiry_tracking_expiry_date_peer_mentor_id_idx}', '{}',
   $$select id, peer_mentor_id, certificate_type, expiry_date, notification_thresholds_sent from certification_expiry_tracking
     where expiry_date in (current_date + 60, current_date + 30, current_date + 7)$$),
  ('ticket 000', 'the 30-day window served by the composite (expiry_date, peer_mentor_id) index alone', 'certification_expiry_tracking',
   '{certification_expiry_tracking_expiry_date_peer_mentor_id_idx}', '{certification_expiry_tracking_expiry_date_idx}',
   $$select peer_mentor_id, expiry_date from certification_expiry_tracking
     where expiry_date between current_date and current_date + 30$$),
  ('expiry sweep', 'one organisation''s certificates due a warning or lapsed', 'certification_expiry_tracking',
   '{certification_expiry_tracking_organization_id_expiry_date_idx}',
   '{certification_expiry_tracking_expiry_date_idx,certification_expiry_tracking_expiry_date_peer_mentor_id_idx}',
   $$select certification_id, notification_thresholds_sent from certification_expiry_tracking
     where organization_id = md5('bench-org-3')::uuid and expiry_date <= current_date + 60$$),
  ('ticket 000', 'the per-mentor lookup', 'certification_expiry_tracking',
   '{certification_expiry_tracking_peer_mentor_id_idx}', '{}',
   $$select * from certification_expiry_tracking where peer_mentor_id = md5('bench-mentor-77')::uuid$$),
  ('ticket 000', 'notification_thresholds_sent @> ARRAY[60] (GIN)', 'certification_expiry_tracking',
   '{certification_expiry_tracking_thresholds_sent_idx}', '{}',
   $$select id from certification_expiry_tracking where notification_thresholds_sent @> array[60]$$),
  ('ticket 001', 'WHERE certification_id = $1 AND notification_type = $2', 'cert_notification_log',
   '{cert_notification_log_certification_id_notification_type_idx}', '{}',
   $$select * from cert_notification_log
     where certification_id = md5('bench-cert-77')::uuid and notification_type = 'expiry_warning_30d'$$),
  ('ticket 001', 'the idempotency_key deduplication lookup', 'cert_notification_log',
   '{cert_notification_log_idempotency_key_key}', '{}',
   $$select 1 from cert_notification_log where idempotency_key = encode(sha256('bench-log|77|1'::bytea), 'hex')$$),
  ('ticket 002', 'the coordinator read on (peer_mentor_id, chapter_id)', 'follow_up_notification_log',
   '{follow_up_notification_log_peer_mentor_id_chapter_id_idx}',
   '{follow_up_notification_log_chapter_id_delivered_at_idx,follow_up_notification_log_organization_id_chapter_id_idx}',
   $$select * from follow_up_notification_log
     where peer_mentor_id = md5('bench-mentor-77')::uuid and chapter_id = md5('bench-chapter-78')::uuid$$),
  ('ticket 002', 'the FK join / lookup by scenario_rule_id', 'follow_up_notification_log',
   '{follow_up_notification_log_scenario_rule_id_idx}', '{}',
   $$select * from follow_up_notification_log where scenario_rule_id = md5('bench-rule-78-inactivity')::uuid$$),
  ('ticket 003', 'the cooldown lookup (user_id, scenario_type) ORDER BY triggered_at DESC LIMIT 1', 'scenario_notifications',
   '{scenario_notifications_user_id_scenario_type_triggered_at_idx}', '{scenario_notifications_sent_idx}',
   $$select triggered_at from scenario_notifications
     where user_id = md5('bench-mentor-77')::uuid and scenario_type = 'inactivity' order by triggered_at desc limit 1$$),
  ('ticket 003', 'the organisation reporting query', 'scenario_notifications',
   '{scenario_notifications_org_scenario_type_triggered_at_idx}', '{}',
   $$select count(*) from scenario_notifications
     where organization_id = md5('bench-org-3')::uuid and scenario_type = 'inactivity' and triggered_at >= now() - interval '30 days'$$),
  ('ticket 003', 'the sent-rows cooldown question (partial index)', 'scenario_notifications',
   '{scenario_notifications_sent_idx}', '{scenario_notifications_user_id_scenario_type_triggered_at_idx}',
   $$select count(*) from scenario_notifications
     where user_id = md5('bench-mentor-77')::uuid and scenario_type = 'inactivity' and delivery_status = 'sent'$$),
  ('ticket 004', 'the duplicate check (mentor, certificate type, tier, window, recipient)', 'notifications',
   '{notifications_expiry_duplicate_key}', '{notifications_subject_mentor_id_idx,notifications_recipient_id_created_at_idx}',
   $$select 1 from notifications
     where category = 'certification_expiry' and subject_mentor_id = md5('bench-mentor-77')::uuid
       and certificate_type = 'hlf_peer_mentor' and threshold_tier = 'expiry_warning_60d'
       and notification_window_start = current_date and recipient_id = md5('bench-mentor-77')::uuid$$),
  ('ticket 000 risk 1', 'the directory listing of a chapter (partial index)', 'mentor_directory',
   '{mentor_directory_listable_idx}',
   '{mentor_directory_chapter_id_peer_mentor_id_key,mentor_directory_membership_idx,mentor_directory_organization_id_chapter_id_idx,mentor_directory_active_lapses_at_idx}',
   $$select id, display_name from mentor_directory
     where chapter_id = md5('bench-chapter-78')::uuid and suppression_status = 'active' and lapses_at > now()$$),
  ('issue 16', 'the sweep''s directory step: lapsed active listings of an organisation', 'mentor_directory',
   '{mentor_directory_organization_id_suppression_idx}',
   '{mentor_directory_organization_id_chapter_id_idx,mentor_directory_organization_id_peer_mentor_id_idx,mentor_directory_active_lapses_at_idx}',
   $$select id from mentor_directory
     where organization_id = md5('bench-org-7')::uuid and suppression_status = 'active'
       and certification_expiry_date < current_date$$),
  ('issue 16', 'the sweep''s directory step: hidden listings valid again', 'mentor_directory',
   '{mentor_directory_organization_id_suppression_idx}',
   '{mentor_directory_organization_id_chapter_id_idx,mentor_directory_organization_id_peer_mentor_id_idx}',
   $$select id from mentor_directory
     where organization_id = md5('bench-org-7')::uuid and suppression_status = 'suppressed'
       and suppression_reason = 'certification_lapsed' and certification_expiry_date >= current_date$$),
  ('ticket 003 risk 3', 'a mentor''s activities, newest first', 'activities',
   '{activities_peer_mentor_id_occurred_at_idx}', '{}',
   $$select occurred_at from activities where peer_mentor_id = md5('bench-mentor-77')::uuid order by occurred_at desc limit 50$$),
  ('retention', 'a prune batch of cert_notification_log (oldest first)', 'cert_notification_log',
   '{cert_notification_log_sent_at_idx}', '{}',
   $$select id from cert_notification_log where sent_at < now() - interval '1 year'
     order by sent_at limit 5000 for update skip locked$$),
  ('retention', 'a prune batch of follow_up_notification_log (oldest first)', 'follow_up_notification_log',
   '{follow_up_notification_log_delivered_at_idx}', '{follow_up_notification_log_chapter_id_delivered_at_idx}',
   $$select log_id from follow_up_notification_log where delivered_at < now() - interval '1 year'
     order by delivered_at limit 5000 for update skip locked$$),
  ('ticket 004', 'the dispatcher''s claim of due pushes (FOR UPDATE SKIP LOCKED)', 'push_notices',
   '{push_notices_pending_idx}', '{push_notices_pending_recipient_idx}',
   $$select id from push_notices where status = 'pending' and available_at <= now()
     order by available_at limit 100 for update skip locked$$),
  ('issue 16', 'a claimed person''s other due notices, to fold into their push', 'push_notices',
   '{push_notices_pending_recipient_idx}', '{push_notices_pending_idx}',
   $$select id from push_notices
     where recipient_id = md5('bench-mentor-77')::uuid and organization_id = md5('bench-org-7')::uuid
       and status = 'pending' and available_at <= now() and sent_payload is null$$),
  ('issue 16', 'a push''s deliveries, for the claim and the settle statement', 'push_deliveries',
   '{push_deliveries_notice_id_device_token_id_key}', '{}',
   $$select id, status from push_deliveries where notice_id = md5('bench-push-7')::uuid$$),
  ('retention', 'a prune batch of push_notices (settled, oldest first)', 'push_notices',
   '{push_notices_settled_at_idx}', '{}',
   $$select id from push_notices where settled_at < now() - interval '30 days'
     order by settled_at limit 5000 for update skip locked$$);

-- The same reads as the API roles make them, with the RLS policy predicates added.
insert into named_queries (source, label, tbl, indexes, alternatives, query, as_user) values
  ('ticket 000 risk 1', 'the public directory listing as anon (policy predicate included)', 'mentor_directory',
   '{mentor_directory_listable_idx}',
   '{mentor_directory_chapter_id_peer_mentor_id_key,mentor_directory_membership_idx,mentor_directory_organization_id_chapter_id_idx,mentor_directory_active_lapses_at_idx}',
   $$select id, display_name from mentor_directory where chapter_id = md5('bench-chapter-78')::uuid$$,
   '00000000-0000-0000-0000-000000000000'),
  ('ticket 002', 'the coordinator read as the coordinator (policy predicate included)', 'follow_up_notification_log',
   '{follow_up_notification_log_peer_mentor_id_chapter_id_idx}',
   '{follow_up_notification_log_chapter_id_delivered_at_idx,follow_up_notification_log_organization_id_chapter_id_idx}',
   $$select * from follow_up_notification_log
     where peer_mentor_id = md5('bench-mentor-77')::uuid and chapter_id = md5('bench-chapter-78')::uuid$$,
   md5('bench-mentor-1')::uuid);

-- The sweep's (organization_id, expiry_date) index can serve them too, by skipping
-- through its organisations, so the counterfactual drops it as well.
update named_queries set alternatives = '{certification_expiry_tracking_organization_id_expiry_date_idx}'
where tbl = 'certification_expiry_tracking' and label like '%window%' or label like '%threshold query%';
-- The composite index must serve the window on its own, with the single-column index out of the way.
update named_queries set hidden = '{certification_expiry_tracking_expiry_date_idx}'
where label like '%composite%';
-- Without its index, the per-mentor lookup could still walk a whole index that
-- has peer_mentor_id as a later column; drop that too.
update named_queries set alternatives = '{certification_expiry_tracking_expiry_date_peer_mentor_id_idx}'
where label = 'the per-mentor lookup';

-- The plan of a named query, as its user (the nil uuid = anon), with its
-- `hidden` indexes dropped - and, for the counterfactual (without = true), its
-- own and alternative indexes too. Indexes are dropped as superuser in a
-- subtransaction that is always rolled back; constraint-backed indexes by
-- dropping their constraint.
create function pg_temp.plan_as(q named_queries, without boolean) returns text language plpgsql as $$
declare
  idx text;
  con record;
  plan text;
begin
  begin
    foreach idx in array q.hidden || case when without then q.indexes || q.alternatives else '{}'::text[] end loop
      select c.conrelid::regclass as tbl, c.conname into con
      from pg_constraint c where c.conindid = format('public.%I', idx)::regclass;
      if found then
        execute format('alter table %s drop constraint %I', con.tbl, con.conname);
      else
        execute format('drop index public.%I', idx);
      end if;
    end loop;
    if q.as_user is not null then
      perform set_config('role', case when q.as_user = '00000000-0000-0000-0000-000000000000' then 'anon' else 'authenticated' end, true);
      perform set_config('request.jwt.claims', json_build_object('sub', q.as_user, 'role', 'authenticated')::text, true);
    end if;
    plan := pg_temp.plan_of(q.query);
    raise exception using errcode = 'TZ999';
  exception when sqlstate 'TZ999' then
    null;
  end;
  return plan;
end
$$;

select plan(3 + 3 * (select count(*)::int from named_queries));

-- The volume is real: the statistics see it.
select cmp_ok((select reltuples from pg_class where oid = 'public.certification_expiry_tracking'::regclass), '>=', 20000::real,
              'certification_expiry_tracking holds 20,000 analysed rows (ticket 000: 10,000)');
select cmp_ok((select reltuples from pg_class where oid = 'public.cert_notification_log'::regclass), '>=', 50000::real,
              'cert_notification_log holds 50,000 analysed rows (ticket 001: up to 50,000)');
select cmp_ok((select reltuples from pg_class where oid = 'public.scenario_notifications'::regclass), '>=', 60000::real,
              'scenario_notifications holds 60,000 analysed rows');

select matches(pg_temp.plan_as(q, false), pg_temp.uses_any(q.indexes),
               format('%s: %s uses %s%s', q.source, q.label, array_to_string(q.indexes, ' or '),
                      case when cardinality(q.hidden) > 0 then ' (with ' || array_to_string(q.hidden, ', ') || ' dropped)' else '' end))
from named_queries q order by q.ord;

select doesnt_match(pg_temp.plan_as(q, false), 'Seq Scan',
                    format('%s: %s reads no table sequentially', q.source, q.label))
from named_queries q order by q.ord;

select matches(pg_temp.plan_as(q, true), 'Seq Scan on ' || q.tbl || '\M',
               format('%s: without its index%s, %s would scan %s sequentially', q.source,
                      case when cardinality(q.alternatives) > 0 then ' (and ' || array_to_string(q.alternatives, ', ') || ')' else '' end,
                      q.label, q.tbl))
from named_queries q order by q.ord;

select * from finish();
rollback;
