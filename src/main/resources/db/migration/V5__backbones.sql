-- Uploaded TorchScript backbones; the file lives under backbones/<id>/backbone.pt.
create table backbones (
    id                  varchar(100) primary key,
    name                varchar(200) not null,
    sha256              varchar(64)  not null,
    feature_dim         int          not null,
    input_size          int          not null,
    stages              varchar(200) not null,
    size_bytes          bigint       not null,
    created_at          timestamp with time zone not null
);
