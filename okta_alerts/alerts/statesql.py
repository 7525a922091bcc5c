"""The SQL of the state database: its tables, the columns later versions added, and how an
alert's row moves (:mod:`okta_alerts.alerts.state` runs them)."""

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS ids;
CREATE TABLE IF NOT EXISTS alerts (
  rule_id VARCHAR, key VARCHAR, title VARCHAR, severity VARCHAR, status VARCHAR,
  labels JSON, count BIGINT, normal DOUBLE, opened_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ,
  last_alerted_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ, PRIMARY KEY (rule_id, key));
CREATE TABLE IF NOT EXISTS notifications (
  id BIGINT PRIMARY KEY DEFAULT nextval('ids'), created_at TIMESTAMPTZ, kind VARCHAR,
  title VARCHAR, markdown VARCHAR, text VARCHAR, notify_type VARCHAR, targets JSON,
  delivered JSON, status VARCHAR, attempts INTEGER, last_error VARCHAR, sent_at TIMESTAMPTZ,
  attachment_name VARCHAR, attachment BLOB);
CREATE TABLE IF NOT EXISTS silences (
  id BIGINT PRIMARY KEY DEFAULT nextval('ids'), rule_id VARCHAR, key VARCHAR,
  created_at TIMESTAMPTZ, until TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS schedule_runs (
  id BIGINT PRIMARY KEY DEFAULT nextval('ids'), job VARCHAR, notebook VARCHAR,
  slot TIMESTAMPTZ, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
  output VARCHAR, error VARCHAR);
"""
# Columns added since the first version: an alert's value, peak and total while it is open
# (and its final total once resolved); a notification's body in one target format.
MIGRATIONS = """
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS value BIGINT;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS peak BIGINT;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS total BIGINT;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS held_by VARCHAR;
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS body VARCHAR;
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS body_format VARCHAR;
"""

# A firing alert is (re)opened and stamped as alerted now; an open one keeps its opened_at.
OPEN = """
INSERT INTO alerts (rule_id, key, title, severity, status, labels, count, normal, opened_at,
  last_seen_at, last_alerted_at, resolved_at, value, peak, total)
VALUES ($rule, $key, $title, $severity, 'open', $labels, $count, $normal, $now, $now, $now, NULL,
  $value, $peak, $total)
ON CONFLICT DO UPDATE SET title = $title, severity = $severity, labels = $labels,
  count = $count, normal = $normal, last_seen_at = $now, last_alerted_at = $now,
  opened_at = CASE WHEN status = 'open' THEN opened_at ELSE $now END,
  status = 'open', resolved_at = NULL, value = $value, peak = $peak,
  total = coalesce($total, total), held_by = NULL
"""
# An alert held back by another rule's inhibit is open, but never announced.
HELD = """
INSERT INTO alerts (rule_id, key, title, severity, status, labels, count, normal, opened_at,
  last_seen_at, value, peak, held_by)
VALUES ($rule, $key, $title, $severity, 'open', '[]', $count, NULL, $now, $now, $value, $value,
  $held_by)
ON CONFLICT DO UPDATE SET last_seen_at = $now, count = $count, value = $value,
  peak = greatest(coalesce(peak, 0), $value),
  held_by = CASE WHEN status = 'open' THEN coalesce(held_by, $held_by) ELSE $held_by END,
  opened_at = CASE WHEN status = 'open' THEN opened_at ELSE $now END,
  status = 'open', resolved_at = NULL
"""
SEEN = """
UPDATE alerts SET last_seen_at = $now, count = $count, value = $value,
  peak = greatest(coalesce(peak, 0), $value)
WHERE rule_id = $rule AND key = $key AND status = 'open'
"""
