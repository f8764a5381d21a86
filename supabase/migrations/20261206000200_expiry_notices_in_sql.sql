-- The expiry notice decided once, in the database (issue 28).
-- The current definitions are in supabase/schemas/08_rule_functions.sql
-- (and 01_organisations_and_people.sql for private.is_known_certificate_type);
-- the baseline carries the three redefined functions' new text too, so
-- applying it again does not undo this migration.
--
-- 1. The rules of an expiry notice in SQL. The expiry job's notices are built
--    for a whole set by one write path (src/mentor_notify/expiry/sql/
--    write_notices.sql), fed either by the sweep's selection of a slice or by
--    the ticket-004 orchestrator's batch. These are the SQL forms of the rules
--    it applies to every notice, each the twin of one Python definition that
--    tests/integration/test_rule_functions.py holds it equal to:
--
--    private.expiry_notification_key / private.cert_log_key  the notice's and
--        its log row's idempotency keys (mentor_notify.domain.keys), composed
--        on private.idempotency_key.
--    private.expiry_message_key(audience, tier)  notifications.message_key
--        (mentor_notify.domain.expiry_messages.message_key).
--    private.coordinator_follow_up_link  the coordinator's v1 link
--        (mentor_notify.domain.deep_links.coordinator_follow_up_link); with
--        private.renewal_link, private.expiry_deep_link picks one by audience
--        (mentor_notify.domain.expiry_messages.deep_link).
--    private.expiry_notice_data  notifications.data (ExpiryMessage.data).
--    private.expiry_push_payload  push_notices.payload, in the one shape of a
--        push, private.push_payload (defined here as migration 20261207000200
--        and supabase/schemas/04_notifications_and_push.sql define it, so
--        this migration, applied alone or again, gives the current text).
--    private.expiry_collapse_key  push_notices.collapse_key (collapse_key).
--
-- 2. Inlined, so each is evaluated as the expression it is. A SQL function
--    with its own search_path (a SET clause) is never inlined: every call then
--    goes through the function manager and saves and restores the setting,
--    5-7 us a call measured here, and nested rules multiply it: about a dozen
--    calls a notice, 60-80 us, more than writing the notice costs. So these
--    functions, and private.idempotency_key and private.renewal_link they
--    build on (redefined here the same, without their SET clause; and
--    private.is_known_certificate_type, see 3.), are plain
--    SQL expressions the planner folds into the calling statement (checked:
--    EXPLAIN VERBOSE shows no call left). Without a pinned search_path their
--    bodies are safe because every function is called schema-qualified, every
--    value is cast to text before || or =, so each operator has an exact
--    match in pg_catalog (searched first), and none of them is SECURITY
--    DEFINER: they run with the caller's rights anyway. Their volatility is
--    what their bodies are (STABLE where a text conversion is), as the
--    planner requires to inline them. supabase/tests/00_schema_shape.sql lists
--    them as the only functions without a pinned search_path.
--
-- 3. What a notice costs, and what each object on the tables it writes is for.
--    Measured (bench numbers in BENCHMARKS.md, issue 28): the server CPU of
--    write_notices.sql and enqueue.sql over 26,000 notices (100,000
--    certificates), each object dropped in a transaction rolled back, the
--    tables vacuumed between, 2 alternating rounds; the baseline moved by
--    +-5 %, so smaller effects are noise. Of 3.5 s:
--
--    CHECK constraints of the four tables, together          17 %
--      (of which notifications_data_privacy_check           5 %)
--    foreign keys of push_notices                           10 %
--    non-unique indexes of certification_expiry_tracking    10 %
--      (of which the GIN on notification_thresholds_sent    2 %)
--    foreign keys of cert_notification_log                    9 %
--    foreign keys of notifications                            4 %
--    non-unique indexes of notifications, cert_notification_log,
--      push_notices; the tracking table's foreign keys and
--      its before-update trigger                           < 2 % each
--
--    Kept, each for a query or a guarantee:
--    * every foreign key: a person's or an organisation's deletion cascades
--      to their notices, log rows and pushes (erasure), and nothing points at
--      a person who does not exist (test_orchestrator_db's poisoned record).
--    * every CHECK: what the app reads is valid, and no personal data is
--      stored (the privacy check); the writers are many, the check one.
--    * notifications: the unique keys (idempotency; ticket 004's duplicate
--      check, notifications_expiry_duplicate_key); recipient/created_at (the
--      inbox), the unread badge index, created_at (maintenance prune),
--      organization_id and subject_mentor_id (the foreign keys' deletes).
--    * cert_notification_log: the unique key; (certification_id,
--      notification_type), recipient_id, organization_id (the foreign keys'
--      deletes); sent_at (maintenance prune).
--    * push_notices: notification_id unique (one push per notice); pending
--      and pending-recipient (the claim), recipient_id, organization_id (the
--      foreign keys' deletes); the other partial indexes cost a pending
--      insert nothing (their predicate is false).
--    * certification_expiry_tracking: its indexes serve ticket 000's queries.
--      The GIN index on notification_thresholds_sent serves only ticket 000's
--      `@>` query (supabase/tests/explain_plans.sql), which no job runs, and
--      it cannot coexist with HOT tier marks: a tier mark changes the indexed
--      array, so it is never a heap-only update and writes an entry into every
--      index of the table (the 10 % above; the GIN's own entry is 2 %).
--      Dropping it makes tier marks HOT only on pages with free room, which
--      needs a fillfactor below 100 and a rewrite of the table. Measured the
--      same way (3 runs each, not alternating): with the GIN, 0 of 12,999
--      tier marks were HOT; without it, fillfactor 90 and the table
--      rewritten, 9,805 were, and the write CPU fell by about 13 % (4.11 s to
--      3.57 s, medians). Kept, because ticket 000 asks for it; dropping it
--      with fillfactor 90 is the next step if that criterion is let go.
--    * the tracking table's before-update trigger: a renewal resets the tiers
--      sent (once per tier per expiry cycle).
--
--    Made cheaper: private.is_known_certificate_type, the CHECK of every
--    certificate_type column, is inlined like the rule functions above (a
--    call with its own search_path costs 5-7 us a row; it runs for every
--    notice and every tier mark).
--
-- They live in the unexposed private schema; the jobs call them as the owner
-- role, so EXECUTE is taken from everyone else, as for the other rule
-- functions. Idempotent: "create or replace".

create or replace function private.idempotency_key(variadic parts text[])
returns text
language sql
stable
parallel safe
as $$
  select pg_catalog.encode(
           pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.array_to_string(parts, '|'), 'UTF8')),
           'hex')
$$;
alter function private.idempotency_key(text[]) reset all;
comment on function private.idempotency_key(text[]) is
  'Idempotency key: lowercase hex SHA-256 of the parts joined by |. Mirrors mentor_notify.domain.keys.idempotency_key. Inlined (no SET clause; see migration 20261206000200).';

create or replace function private.renewal_link(
  certification_id uuid, certificate_type text, tier text
)
returns text
language sql
immutable
parallel safe
as $$
  -- Ids, known certificate codes and tier codes need no URL escaping.
  select 'mentornotify://v1/course-enrolment?certification_id=' || certification_id::text
         || '&certificate_type=' || certificate_type || '&tier=' || tier
$$;
alter function private.renewal_link(uuid, text, text) reset all;
comment on function private.renewal_link(uuid, text, text) is
  'The mentor''s v1 deep link to the renewal course. Mirrors mentor_notify.domain.deep_links.renewal_link. Inlined (no SET clause; see migration 20261206000200).';

create or replace function private.is_known_certificate_type(certificate_type text)
returns boolean
language sql
immutable
as $$
  select certificate_type in ('hlf_peer_mentor', 'nhf_peer_mentor', 'blindeforbundet_peer_mentor')
$$;
alter function private.is_known_certificate_type(text) reset all;
comment on function private.is_known_certificate_type(text) is
  'True for the certificate type codes the programmes issue; shared by every table that stores a certificate_type. Inlined (no SET clause; see migration 20261206000200).';

create or replace function private.expiry_notification_key(
  certification_id uuid, tier text, expiry_date date, recipient_id uuid
)
returns text
language sql
stable
parallel safe
as $$
  -- The expiry date is the cycle: a renewal brings new keys, re-runs the same.
  select private.idempotency_key('certification_expiry', certification_id::text, tier,
                                 expiry_date::text, recipient_id::text)
$$;
comment on function private.expiry_notification_key(uuid, text, date, uuid) is
  'notifications.idempotency_key of an expiry notice. Mirrors mentor_notify.domain.keys.expiry_notification_key.';

create or replace function private.cert_log_key(
  certification_id uuid, tier text, expiry_date date, recipient_id uuid
)
returns text
language sql
stable
parallel safe
as $$
  select private.idempotency_key(certification_id::text, tier, expiry_date::text,
                                 recipient_id::text)
$$;
comment on function private.cert_log_key(uuid, text, date, uuid) is
  'cert_notification_log.idempotency_key of an expiry notice. Mirrors mentor_notify.domain.keys.cert_log_key.';

create or replace function private.expiry_message_key(audience text, tier text)
returns text
language sql
immutable
parallel safe
as $$
  -- Chapter admins standing in for a coordinator read the coordinators' texts.
  select 'certification_expiry.'
         || case when audience = 'mentor' then 'mentor' else 'coordinator' end
         || '.' || tier
$$;
comment on function private.expiry_message_key(text, text) is
  'notifications.message_key of an expiry notice for an audience (mentor, coordinator, chapter_admin) and tier. Mirrors mentor_notify.domain.expiry_messages.message_key.';

create or replace function private.coordinator_follow_up_link(
  mentor_id uuid, certification_id uuid, tier text
)
returns text
language sql
immutable
parallel safe
as $$
  -- Ids and tier codes need no URL escaping.
  select 'mentornotify://v1/mentors/' || mentor_id::text || '/certification?certification_id='
         || certification_id::text || '&tier=' || tier
$$;
comment on function private.coordinator_follow_up_link(uuid, uuid, text) is
  'A coordinator''s v1 deep link to a mentor''s certification. Mirrors mentor_notify.domain.deep_links.coordinator_follow_up_link.';

create or replace function private.expiry_deep_link(
  audience text, mentor_id uuid, certification_id uuid, certificate_type text, tier text
)
returns text
language sql
immutable
parallel safe
as $$
  -- Renewal for the mentor, follow-up for whoever is told about the mentor.
  select case when audience = 'mentor'
              then private.renewal_link(certification_id, certificate_type, tier)
              else private.coordinator_follow_up_link(mentor_id, certification_id, tier) end
$$;
comment on function private.expiry_deep_link(text, uuid, uuid, text, text) is
  'Deep link of an expiry notice for its audience. Mirrors mentor_notify.domain.expiry_messages.deep_link.';

create or replace function private.expiry_notice_data(
  audience text, certification_id uuid, expiry_date date, deep_link text
)
returns jsonb
language sql
stable
parallel safe
as $$
  -- Ids, codes, a date and the link: nothing personal in a stored notice.
  select pg_catalog.jsonb_build_object(
           'audience', audience,
           'certification_id', certification_id::text,
           'expiry_date', expiry_date::text,
           'deep_link', deep_link)
$$;
comment on function private.expiry_notice_data(text, uuid, date, text) is
  'notifications.data of an expiry notice. Mirrors mentor_notify.domain.expiry_messages.ExpiryMessage.data.';

-- The one shape of a push (issue 25; the current text, see 1. above).
create or replace function private.push_payload(
  category text, title_key text, body_key text, urgent boolean, notification_id uuid,
  deep_link text, data jsonb
)
returns jsonb
language sql
stable
parallel safe
as $$
  select pg_catalog.jsonb_build_object(
           'category', category,
           'title_key', title_key,
           'body_key', body_key,
           'priority', case when urgent then 'high' else 'normal' end,
           'data', coalesce(data, '{}'::jsonb) || pg_catalog.jsonb_build_object(
                                                      'notification_id', notification_id::text,
                                                      'deep_link', deep_link))
$$;
comment on function private.push_payload(text, text, text, boolean, uuid, text, jsonb) is
  'The one builder of push_notices.payload (expiry notices, scenario nudges, digests): category, title and body keys, priority (high when urgent), and data with the notification id and deep link added to the caller''s ids.';
revoke all on function private.push_payload(text, text, text, boolean, uuid, text, jsonb)
  from public, anon, authenticated, service_role;

create or replace function private.expiry_push_payload(
  notification_id uuid, audience text, tier text, certificate_type text, certification_id uuid,
  mentor_id uuid, expiry_date date, deep_link text
)
returns jsonb
language sql
stable
parallel safe
as $$
  -- What an expiry push says, in the one shape of a push
  -- (private.push_payload): the notice's message keys, urgent (high priority)
  -- for the 7-day and lapsed notices, and the certificate's ids and codes.
  select private.push_payload(
           'certification_expiry',
           private.expiry_message_key(audience, tier) || '.title',
           private.expiry_message_key(audience, tier) || '.body',
           tier in ('expiry_warning_7d', 'expired'),
           notification_id,
           deep_link,
           pg_catalog.jsonb_build_object(
             'category', 'certification_expiry',
             'tier', tier,
             'certificate_type', certificate_type,
             'certification_id', certification_id::text,
             'subject_mentor_id', mentor_id::text,
             'expiry_date', expiry_date::text))
$$;
comment on function private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text) is
  'push_notices.payload announcing a stored expiry notice, built by private.push_payload.';

create or replace function private.expiry_collapse_key(certification_id uuid)
returns text
language sql
immutable
parallel safe
as $$
  -- One per certificate: a newer tier replaces an older one on the device.
  select 'expiry:' || certification_id::text
$$;
comment on function private.expiry_collapse_key(uuid) is
  'push_notices.collapse_key of an expiry push. Mirrors mentor_notify.domain.expiry_messages.collapse_key.';

revoke all on function
  private.expiry_notification_key(uuid, text, date, uuid),
  private.cert_log_key(uuid, text, date, uuid),
  private.expiry_message_key(text, text),
  private.coordinator_follow_up_link(uuid, uuid, text),
  private.expiry_deep_link(text, uuid, uuid, text, text),
  private.expiry_notice_data(text, uuid, date, text),
  private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text),
  private.expiry_collapse_key(uuid)
from public, anon, authenticated, service_role;
