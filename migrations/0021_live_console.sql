-- The bell counts an agent's unread alerts on every workspace load; agents
-- keep thousands of read ones, so the count reads only the unread.
CREATE INDEX notifications_unread ON notifications (agent_id) WHERE read_at IS NULL;

-- The live queue monitor counts SLA breaches of the last hour per type:
-- first-response breaches end an assignment with reason 'sla'.
CREATE INDEX assignments_sla_ended ON assignments (ended_at) WHERE end_reason = 'sla';
