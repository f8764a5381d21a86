-- The sync applies faster (issue 24's speed targets): an organisation's held
-- events are applied in one subtransaction per batch instead of one per event;
-- one by one only when an event of the batch fails. Same signature and result,
-- so the function is replaced in place (its grants stay). Idempotent.
-- The current definition is in supabase/schemas/09_certificate_sync_and_report.sql;
-- the baseline's and 20261206000400's texts hold it too, so re-applying them
-- changes nothing.
set local lock_timeout = '5s';
set local statement_timeout = '1min';

-- Replay and the applier: an organisation's pending events in source order
-- (time, row version, arrival), applied in rounds; also names the mentors
-- whose certificates changed, so that only their listings are refreshed (a
-- refresh of the whole organisation per round held every ingest behind the
-- organisation's lock). The batch is applied in one subtransaction: a
-- subtransaction per event cost a transaction id each, and beyond 64 of them
-- in one transaction visibility checks must look in pg_subtrans (PostgreSQL
-- manual, "Subtransactions", checked 2026-12-07; issue 24's speed). Only if
-- an event fails is the batch undone and applied again one event per
-- subtransaction, the failing one dead with the database's reason, so a
-- failure on one record never aborts the others.
drop function if exists private.apply_certificate_sync_events(uuid, timestamptz, integer);
create function private.apply_certificate_sync_events(org uuid, at timestamptz, max_events integer)
returns table (outcome text, events integer, peer_mentor_ids uuid[])
language plpgsql
set search_path = ''
as $$
declare
  batch bigint[];
  remaining bigint[];
  later bigint[];
  pending_id bigint;
  careful integer;
  r record;
  tally jsonb;
  mentors uuid[];
  -- A round ends at the first repeated certificate: offering it this many
  -- events is enough, and keeps each round's reading short.
  offer constant integer := 200;
begin
  batch := array(
    select e.id from public.certificate_sync_events e
    where e.organization_id = org and e.status = 'pending'
    order by e.source_modified_at, e.source_version nulls first, e.id
    limit max_events
  );
  for careful in 0..1 loop
    tally := '{}';
    mentors := '{}';
    begin
      if careful = 0 then
        remaining := batch;
        while pg_catalog.cardinality(remaining) > 0 loop
          later := '{}';
          for r in select * from private.apply_certificate_sync_round(remaining[1:offer], at) loop
            if r.outcome = 'deferred' then
              later := later || r.event_id;
            else
              if r.peer_mentor_id is not null and not r.peer_mentor_id = any (mentors) then
                mentors := mentors || r.peer_mentor_id;
              end if;
              tally := tally || pg_catalog.jsonb_build_object(r.outcome, coalesce((tally ->> r.outcome)::integer, 0) + 1);
            end if;
          end loop;
          -- Deferred events keep their places in the source order.
          remaining := array(
            select g.id from unnest(remaining) with ordinality as g (id, pos)
            where g.pos > offer or g.id = any (later) order by g.pos
          );
        end loop;
      else
        foreach pending_id in array batch loop
          begin
            -- One event: never deferred.
            for r in select * from private.apply_certificate_sync_round(array[pending_id], at) loop
              if r.peer_mentor_id is not null and not r.peer_mentor_id = any (mentors) then
                mentors := mentors || r.peer_mentor_id;
              end if;
              tally := tally || pg_catalog.jsonb_build_object(r.outcome, coalesce((tally ->> r.outcome)::integer, 0) + 1);
            end loop;
          exception when others then
            update public.certificate_sync_events
            set status = 'dead', reason = 'rejected by the database: ' || sqlerrm, processed_at = at
            where id = pending_id and status = 'pending';
            tally := tally || pg_catalog.jsonb_build_object('dead', coalesce((tally ->> 'dead')::integer, 0) + 1);
          end;
        end loop;
      end if;
      exit;
    exception when others then
      -- The whole batch is undone; the second pass applies it one by one.
      if careful = 1 then
        raise;
      end if;
    end;
  end loop;
  return query
    select t.key, t.value::integer, case when t.key = 'applied' then mentors end
    from pg_catalog.jsonb_each_text(tally) t;
end
$$;
comment on function private.apply_certificate_sync_events(uuid, timestamptz, integer) is
  'Applies up to max_events pending sync events of an organisation in source order (time, row version, arrival), in rounds (private.apply_certificate_sync_round), in one subtransaction, or if one fails one subtransaction per event (the failing one dead); returns how many ended applied, superseded or dead, and the mentors whose certificates the applied ones changed.';

revoke all on function private.apply_certificate_sync_round(bigint[], timestamptz) from public;
revoke all on function private.apply_certificate_sync_events(uuid, timestamptz, integer) from public;
