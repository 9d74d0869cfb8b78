-- Whether an uploaded TorchScript backbone updates its BatchNorm statistics in train mode
-- (scripted modules do, eval-mode traces do not), as the sandboxed inspection found; it
-- decides what batchNorm=auto resolves to, so jobs:validate never runs the graph in the
-- API process. Null for rows inspected before: they are inspected again on first use.
alter table backbones add column batch_statistics boolean;
