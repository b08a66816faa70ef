-- The raw limit's world (psql, on a scratch database with the migrations
-- applied): one account, one round-robin support type, 100 online agents
-- with room for every session of the run.
INSERT INTO accounts (slug, name) VALUES ('raw', 'Raw');
INSERT INTO support_types (account_id, slug, name)
  SELECT id, 'raw-chat', 'Raw chat' FROM accounts WHERE slug = 'raw';
INSERT INTO agents (account_id, email, display_name, role, max_concurrent, presence)
  SELECT a.id, 'raw' || i || '@raw.test', 'Raw ' || i, 'agent', 1000, 'online'
  FROM accounts a, generate_series(1, 100) i WHERE a.slug = 'raw';
INSERT INTO agent_skills (agent_id, support_type_id)
  SELECT g.id, t.id FROM agents g, support_types t WHERE t.slug = 'raw-chat';
