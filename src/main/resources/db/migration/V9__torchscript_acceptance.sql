-- Uploaded TorchScript is only run after a sandboxed inspection accepted it (issue 14).
-- inspected_sha256: digest of the backbone file that inspection accepted; null for rows
-- uploaded before, which are inspected again on first use. refusal: why such a row failed
-- that re-inspection. parameter_totals: learnable parameters by stage, as JSON, so job
-- validation counts parameters without running the graph in the API process.
alter table backbones add column inspected_sha256 varchar(64);
alter table backbones add column parameter_totals varchar;
alter table backbones add column inspected_at timestamp with time zone;
alter table backbones add column refusal varchar(4000);

-- Digest of the model artifact's TorchScript backbone recorded when the model was
-- registered; null for models trained before, whose backbone is inspected once on first load.
alter table models add column backbone_sha256 varchar(64);
