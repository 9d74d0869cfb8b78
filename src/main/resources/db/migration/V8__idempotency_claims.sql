-- Idempotency keys are claimed before the work they guard: a row without resource_id is
-- a request in progress, held by lease_owner (one request on one node) while it renews
-- lease_renewed_at. A concurrent request with the same key sees it and gets 409; a row
-- whose lease stopped being renewed (its node died) may be taken over.
alter table idempotency_keys alter column resource_id drop not null;
alter table idempotency_keys add column lease_owner uuid;
alter table idempotency_keys add column lease_renewed_at timestamp with time zone;
