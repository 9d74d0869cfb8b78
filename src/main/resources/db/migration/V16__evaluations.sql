-- Evaluation runs: a model scored on a labelled dataset by a worker. Queued through the
-- job queue (scheduled_tasks, task name 'evaluation'), so they share its lease, heartbeat
-- and recovery. Portable between PostgreSQL and H2 (PostgreSQL mode).
create table evaluations (
    id                  uuid primary key,
    model_id            uuid         not null,
    registered_name     varchar(200),
    alias               varchar(200),
    model_version       int,
    dataset_id          uuid         not null,
    split               varchar(16)  not null,
    status              varchar(16)  not null,
    attempts            int          not null,
    node                varchar(200),
    images_done         int          not null,
    images_total        int          not null,
    result              varchar,
    thumbnails          varchar,
    error_message       varchar,
    created_at          timestamp with time zone not null,
    started_at          timestamp with time zone,
    finished_at         timestamp with time zone,
    updated_at          timestamp with time zone not null
);

create index evaluations_model_idx on evaluations (model_id, created_at);
create index evaluations_status_idx on evaluations (status);
create index evaluations_dataset_idx on evaluations (dataset_id);
