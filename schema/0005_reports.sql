-- Reports on the product's success metrics (product-vision.md), as views a
-- BI tool can read as well as the back-office (each has a CSV export at
-- /api/admin/reports/<name>). Months are calendar months in UTC; amounts
-- stay per currency (no exchange rates here).

-- Share of company revenue sourced by partners: approved deals and
-- referral orders against all revenue (the same plus direct orders).
CREATE VIEW report_partner_revenue_share AS
WITH revenue AS (
    SELECT date_trunc('month', decided_at) AS month, currency, amount_minor, true AS by_partner
    FROM deals WHERE status = 'approved' AND reversed_at IS NULL
    UNION ALL
    SELECT date_trunc('month', recorded_at), currency, amount_minor, partner_id IS NOT NULL
    FROM orders WHERE refunded_at IS NULL
)
SELECT to_char(month, 'YYYY-MM') AS month, currency::text AS currency,
       sum(amount_minor) FILTER (WHERE by_partner)::bigint AS partner_minor,
       sum(amount_minor)::bigint AS total_minor,
       round(100.0 * coalesce(sum(amount_minor) FILTER (WHERE by_partner), 0)
             / nullif(sum(amount_minor), 0), 1) AS partner_percent
FROM revenue GROUP BY month, currency;

-- Lead-to-close rate: of the leads created in a month, how many are won.
CREATE VIEW report_lead_to_close AS
SELECT to_char(date_trunc('month', created_at), 'YYYY-MM') AS month,
       count(*) AS leads,
       count(*) FILTER (WHERE stage = 'won') AS won,
       round(100.0 * count(*) FILTER (WHERE stage = 'won') / count(*), 1) AS close_percent
FROM leads GROUP BY 1;

-- Average deal size of approved deals, per month and currency.
CREATE VIEW report_average_deal AS
SELECT to_char(date_trunc('month', decided_at), 'YYYY-MM') AS month, currency::text AS currency,
       count(*) AS deals, round(avg(amount_minor))::bigint AS average_minor
FROM deals WHERE status = 'approved' AND reversed_at IS NULL
GROUP BY 1, 2;

-- Monthly revenue per partner: approved deals, net of reversals.
CREATE VIEW report_monthly_partner_revenue AS
SELECT to_char(date_trunc('month', d.decided_at), 'YYYY-MM') AS month, d.partner_id,
       p.name AS partner_name, d.currency::text AS currency, count(*) AS deals,
       sum(d.amount_minor)::bigint AS revenue_minor
FROM deals d JOIN partners p ON p.id = d.partner_id
WHERE d.status = 'approved' AND d.reversed_at IS NULL
GROUP BY 1, 2, 3, 4;

-- Time from a partner's approval to their first approved deal (target:
-- within 30 days). Partners without a deal yet have no days.
CREATE VIEW report_time_to_first_deal AS
SELECT a.partner_id, a.name AS partner_name, a.decided_at AS approved_at,
       min(d.decided_at) AS first_deal_at,
       extract(day FROM min(d.decided_at) - a.decided_at)::int AS days
FROM accounts a
LEFT JOIN deals d ON d.partner_id = a.partner_id AND d.status = 'approved'
WHERE a.partner_id IS NOT NULL AND a.status = 'approved'
GROUP BY a.partner_id, a.name, a.decided_at;

-- 3- and 6-month retention by cohort (month of approval): a partner is
-- retained at N months when they did anything (touched a lead, submitted a
-- deal) N months or more after their approval. Only cohorts old enough are
-- counted at each horizon.
CREATE VIEW report_retention AS
WITH activity AS (
    SELECT partner_id, updated_at AS at FROM leads
    UNION ALL SELECT partner_id, submitted_at FROM deals
), partner AS (
    SELECT a.partner_id, a.decided_at AS approved_at,
           max(act.at) AS last_active
    FROM accounts a LEFT JOIN activity act ON act.partner_id = a.partner_id
    WHERE a.partner_id IS NOT NULL AND a.status = 'approved'
    GROUP BY a.partner_id, a.decided_at
)
SELECT to_char(date_trunc('month', approved_at), 'YYYY-MM') AS cohort,
       count(*) AS partners,
       count(*) FILTER (WHERE approved_at + interval '3 months' <= now()) AS eligible_3m,
       count(*) FILTER (WHERE approved_at + interval '3 months' <= now()
                          AND last_active >= approved_at + interval '3 months') AS retained_3m,
       count(*) FILTER (WHERE approved_at + interval '6 months' <= now()) AS eligible_6m,
       count(*) FILTER (WHERE approved_at + interval '6 months' <= now()
                          AND last_active >= approved_at + interval '6 months') AS retained_6m
FROM partner GROUP BY 1;

-- The Performer-and-above cohort at the end of each of the last twelve
-- months: partners with 10 or more approved deals in the 365 days before
-- (the default tier thresholds of crates/rules).
CREATE VIEW report_performer_cohort AS
WITH months AS (
    SELECT generate_series(date_trunc('month', now()) - interval '11 months',
                           date_trunc('month', now()), interval '1 month') AS start
), counts AS (
    SELECT m.start, d.partner_id, count(*) AS deals
    FROM months m JOIN deals d
      ON d.status = 'approved' AND d.reversed_at IS NULL
     AND d.decided_at <= m.start + interval '1 month'
     AND d.decided_at > m.start + interval '1 month' - interval '365 days'
    GROUP BY m.start, d.partner_id
)
SELECT to_char(m.start, 'YYYY-MM') AS month,
       count(c.partner_id) FILTER (WHERE c.deals >= 10) AS performer_or_above,
       count(c.partner_id) FILTER (WHERE c.deals >= 25) AS elite
FROM months m LEFT JOIN counts c ON c.start = m.start
GROUP BY m.start ORDER BY m.start;
