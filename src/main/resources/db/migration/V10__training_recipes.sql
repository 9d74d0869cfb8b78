-- Training recipes (gradual unfreezing, resume from checkpoints).
-- Each epoch records the freeze phase it trained in; a resumed job counts its attempts
-- from the resume on.

alter table job_epochs add column phase int not null default 0;
alter table job_epochs add column frozen_up_to varchar(16);

alter table jobs add column attempts_before_resume int not null default 0;
