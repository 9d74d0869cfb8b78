-- Fine-tuned models: one per successful job; the artifact lives under the artifact root.
create table models (
    id                  uuid primary key,
    job_id              uuid         not null,
    name                varchar(200) not null,
    labels              varchar      not null,
    backbone            varchar(200) not null,
    freeze_spec         varchar      not null,
    image_size          int          not null,
    metrics             varchar      not null,
    total_parameters    bigint       not null,
    trainable_parameters bigint      not null,
    size_bytes          bigint       not null,
    artifact_path       varchar      not null,
    created_at          timestamp with time zone not null
);

create index models_job_idx on models (job_id);
create index models_created_idx on models (created_at);
