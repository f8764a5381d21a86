-- Resolve, at send time: which of these claimed sends still go to a device
-- their recipient holds. Decides nothing else. A claim read the recipient's
-- devices when it leased the push, but a send may wait long after (a slow
-- service, few send slots): meanwhile the phone may have changed hands (its
-- token re-registered to someone else) or been deleted, or its token
-- refreshed. A send goes only while the device is still the recipient's with
-- the token the claim read; the dispatcher asks this right before each
-- request, for every send waiting at that moment in one statement, so at most
-- the request already on the wire can reach a device that left its owner.
-- Rows: the delivery ids whose device is still held. The arrays come in binary
-- form: asked about 1,250 times per 10,000 messages, their text form cost the
-- dispatcher more CPU than the rest of the question (BENCHMARKS.md, issue 25).
select c.delivery_id as id
from unnest(%(deliveries)b::uuid[], %(devices)b::uuid[], %(recipients)b::uuid[],
            %(tokens)b::text[]) as c(delivery_id, device_id, recipient_id, token)
join public.device_tokens d
  on d.id = c.device_id and d.user_id = c.recipient_id and d.token = c.token
