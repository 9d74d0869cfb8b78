-- Datasets. Portable SQL: runs on PostgreSQL and on H2 in PostgreSQL mode (the
-- zero-install default), hence no jsonb and no PostgreSQL-only types.

create table dataset (
    id uuid primary key,
    name varchar(255) not null,
    status varchar(32) not null,
    image_count integer not null,
    train_count integer not null,
    validation_count integer not null,
    size_bytes bigint not null,
    sha256 varchar(64) not null,
    validation_split double precision,
    created_at timestamp with time zone not null
);

create index dataset_created_at_idx on dataset (created_at);

create table dataset_class (
    dataset_id uuid not null references dataset (id) on delete cascade,
    label_index integer not null,
    label varchar(255) not null,
    image_count integer not null,
    train_count integer not null,
    validation_count integer not null,
    primary key (dataset_id, label_index)
);

create table dataset_warning (
    dataset_id uuid not null references dataset (id) on delete cascade,
    warning_index integer not null,
    code varchar(64) not null,
    message varchar(2000) not null,
    details varchar(1000000),
    primary key (dataset_id, warning_index)
);

create table dataset_file (
    id uuid primary key,
    dataset_id uuid not null references dataset (id) on delete cascade,
    path varchar(4096) not null,
    label_index integer not null,
    split varchar(16) not null,
    size_bytes bigint not null,
    sha256 varchar(64) not null,
    width integer not null,
    height integer not null
);

create index dataset_file_dataset_idx on dataset_file (dataset_id);

-- One row per stored image blob. ref_count counts the datasets that reference it, so
-- the blob file is deleted exactly when its last dataset goes; rows are locked by the
-- increment/decrement so concurrent uploads and deletes cannot lose a shared blob.
create table dataset_blob (
    sha256 varchar(64) primary key,
    size_bytes bigint not null,
    ref_count integer not null
);
