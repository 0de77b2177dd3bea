-- bench/bi_queries.sql -- BI queries over the generated CRM (bench/crm_data.sql),
-- for bench/bi.sh.
--
-- Each query is written once, against unqualified table names, so that the
-- same text reads the base tables (search_path = public) and, unchanged, the
-- privacy views (search_path = privacy_standard, public):
--
--     psql -c 'SET search_path = privacy_standard, public' -f bench/bi_queries.sql
--
-- customer and orders are labelled (their views exist); city_tier is a small
-- dimension table without personal data (no labels, no views), which
-- bench/bi.sh makes in public, so that both search paths find it.
--
-- Format, read by bench/bi.sh: every query starts with a line
-- "-- @ NAME: what it asks", and ends with ";" at the end of a line.  Constants
-- are fixed, so every run reads the same rows; keys below 50,000 exist at any
-- size bench/bi.sh accepts.

-- @ city_revenue: revenue and orders per city (two-table join, GROUP BY)
SELECT c.city, count(*) AS orders, sum(o.amount) AS revenue
  FROM customer c JOIN orders o ON o.customer_id = c.customer_id
 GROUP BY c.city
 ORDER BY revenue DESC;

-- @ top10_customers: the ten customers who spent most, with name and e-mail
SELECT c.customer_id, c.full_name, c.email, sum(o.amount) AS spent
  FROM customer c JOIN orders o ON o.customer_id = c.customer_id
 GROUP BY c.customer_id, c.full_name, c.email
 ORDER BY spent DESC
 LIMIT 10;

-- @ signup_months: sign-ups per month
SELECT date_trunc('month', signup_at) AS month, count(*) AS signups
  FROM customer
 GROUP BY 1
 ORDER BY 1;

-- @ cohort_retention: 2024 sign-up cohorts, active customers by months since sign-up (CTE)
WITH cohort AS (
    SELECT customer_id, date_trunc('month', signup_at) AS cohort
      FROM customer
     WHERE signup_at >= '2024-01-01' AND signup_at < '2025-01-01'
)
SELECT k.cohort,
       (extract(year FROM o.ordered_at) - extract(year FROM k.cohort)) * 12
         + extract(month FROM o.ordered_at) - extract(month FROM k.cohort) AS months_after,
       count(DISTINCT o.customer_id) AS active
  FROM cohort k JOIN orders o ON o.customer_id = k.customer_id
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- @ top3_per_city: the three biggest spenders of each city (window rank over a join)
WITH spend AS (
    SELECT c.city, c.customer_id, c.full_name, sum(o.amount) AS spent
      FROM customer c JOIN orders o ON o.customer_id = c.customer_id
     GROUP BY c.city, c.customer_id, c.full_name
), ranked AS (
    SELECT s.*, rank() OVER (PARTITION BY city ORDER BY spent DESC) AS rk
      FROM spend s
)
SELECT city, rk, customer_id, full_name, spent
  FROM ranked
 WHERE rk <= 3
 ORDER BY city, rk;

-- @ latest_order: each customer's latest order (DISTINCT ON)
SELECT DISTINCT ON (o.customer_id) o.customer_id, o.order_id, o.ordered_at, o.product, o.amount
  FROM orders o
 ORDER BY o.customer_id, o.ordered_at DESC;

-- @ latest_order_contact: latest order of each Shanghai customer, with phone (DISTINCT ON over a join)
SELECT DISTINCT ON (c.customer_id) c.customer_id, c.full_name, c.mobile, o.ordered_at, o.product
  FROM customer c JOIN orders o ON o.customer_id = c.customer_id
 WHERE c.city = '上海'
 ORDER BY c.customer_id, o.ordered_at DESC;

-- @ first_page: the first page of customers by key (ORDER BY key LIMIT 100)
SELECT customer_id, full_name, mobile, email, city, signup_at
  FROM customer
 ORDER BY customer_id
 LIMIT 100;

-- @ keyset_page: a later page by keyset paging
SELECT customer_id, full_name, mobile, email, city, signup_at
  FROM customer
 WHERE customer_id > 40000
 ORDER BY customer_id
 LIMIT 100;

-- @ offset_page: page 101 by OFFSET paging
SELECT customer_id, full_name, mobile, email, city, signup_at
  FROM customer
 ORDER BY customer_id
 LIMIT 100 OFFSET 10000;

-- @ point_lookup: one customer by key
SELECT *
  FROM customer
 WHERE customer_id = 4242;

-- @ customer_orders: one customer's orders, with the customer (point lookup and join)
SELECT c.customer_id, c.full_name, c.mobile, o.order_id, o.ordered_at, o.product, o.amount,
       o.shipping_address
  FROM customer c JOIN orders o ON o.customer_id = c.customer_id
 WHERE c.customer_id = 4243
 ORDER BY o.ordered_at;

-- @ big_buyers_exists: customers per city with an order over 4,900 (EXISTS)
SELECT c.city, count(*) AS customers
  FROM customer c
 WHERE EXISTS (SELECT FROM orders o WHERE o.customer_id = c.customer_id AND o.amount > 4900)
 GROUP BY c.city
 ORDER BY c.city;

-- @ never_ordered: customers without any order, per city and gender (NOT EXISTS)
SELECT c.city, c.gender, count(*) AS customers
  FROM customer c
 WHERE NOT EXISTS (SELECT FROM orders o WHERE o.customer_id = c.customer_id)
 GROUP BY c.city, c.gender
 ORDER BY c.city, c.gender;

-- @ region_channel: revenue per region, city tier and channel (three-table join)
SELECT t.region, t.tier, o.channel, count(*) AS orders, sum(o.amount) AS revenue
  FROM orders o
  JOIN customer c ON c.customer_id = o.customer_id
  JOIN city_tier t ON t.city = c.city
 GROUP BY t.region, t.tier, o.channel
 ORDER BY t.region, t.tier, o.channel;

-- @ city_product_rollup: revenue per city and product with subtotals (GROUP BY ROLLUP)
SELECT c.city, o.product, count(*) AS orders, sum(o.amount) AS revenue
  FROM customer c JOIN orders o ON o.customer_id = c.customer_id
 GROUP BY ROLLUP (c.city, o.product)
 ORDER BY c.city NULLS LAST, o.product NULLS LAST;

-- @ income_quartiles: income quartiles per city (percentile_cont)
SELECT city,
       percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY income) AS quartiles
  FROM customer
 GROUP BY city
 ORDER BY city;

-- @ amount_p90: 90th percentile and median of order amounts per channel and product (percentile_disc)
SELECT channel, product,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY amount) AS p90,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY amount) AS median
  FROM orders
 GROUP BY channel, product
 ORDER BY channel, product;

-- @ age_bands: customers and mean income per age band and gender
SELECT width_bucket(extract(year FROM age(date '2026-01-01', birth_date)), 20, 80, 6) AS band,
       gender, count(*) AS customers, round(avg(income), 2) AS mean_income
  FROM customer
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- @ monthly_running: monthly revenue, running total and growth (windows over a CTE)
WITH m AS (
    SELECT date_trunc('month', ordered_at) AS month, sum(amount) AS revenue
      FROM orders
     GROUP BY 1
)
SELECT month, revenue,
       sum(revenue) OVER (ORDER BY month) AS running,
       round(revenue / nullif(lag(revenue) OVER (ORDER BY month), 0), 3) AS growth
  FROM m
 ORDER BY month;

-- @ daily_moving_avg: 2025 daily orders with a 7-day moving average (window frame)
SELECT day, orders,
       round(avg(orders) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 1) AS avg7
  FROM (SELECT ordered_at::date AS day, count(*) AS orders
          FROM orders
         WHERE ordered_at >= '2025-01-01' AND ordered_at < '2026-01-01'
         GROUP BY 1) d
 ORDER BY day;

-- @ rfm_segments: recency, frequency, monetary quintiles (ntile) and segment sizes
WITH s AS (
    SELECT customer_id, max(ordered_at) AS last_order, count(*) AS n, sum(amount) AS spent
      FROM orders
     GROUP BY customer_id
), q AS (
    SELECT customer_id,
           ntile(5) OVER (ORDER BY last_order) AS r,
           ntile(5) OVER (ORDER BY n) AS f,
           ntile(5) OVER (ORDER BY spent) AS m
      FROM s
)
SELECT r, f, m, count(*) AS customers
  FROM q
 GROUP BY r, f, m
 ORDER BY r, f, m;

-- @ email_domains: the ten most common e-mail domains
SELECT split_part(email, '@', 2) AS domain, count(*) AS customers
  FROM customer
 WHERE email IS NOT NULL
 GROUP BY 1
 ORDER BY 2 DESC, 1
 LIMIT 10;

-- @ recent_signups_city: the latest 50 sign-ups of Shanghai (filter, sort, contact columns)
SELECT customer_id, full_name, mobile, email, signup_at
  FROM customer
 WHERE city = '上海' AND signup_at >= '2024-06-01'
 ORDER BY signup_at DESC
 LIMIT 50;

-- @ first_channel_repeat: repeat buyers by the channel of their first order (DISTINCT ON in a CTE)
WITH first AS (
    SELECT DISTINCT ON (customer_id) customer_id, channel
      FROM orders
     ORDER BY customer_id, ordered_at
), n AS (
    SELECT customer_id, count(*) AS orders FROM orders GROUP BY customer_id
)
SELECT f.channel, count(*) AS customers,
       round(avg((n.orders > 1)::int), 3) AS repeat_rate
  FROM first f JOIN n ON n.customer_id = f.customer_id
 GROUP BY f.channel
 ORDER BY f.channel;

-- @ loyalty_tiers: customers, income and spend per loyalty tier (LEFT JOIN to an aggregate)
SELECT CASE WHEN c.loyalty_points >= 15000 THEN 'gold'
            WHEN c.loyalty_points >= 5000 THEN 'silver'
            ELSE 'bronze' END AS tier,
       count(*) AS customers, round(avg(c.income), 2) AS mean_income,
       coalesce(sum(s.spent), 0) AS spent
  FROM customer c
  LEFT JOIN (SELECT customer_id, sum(amount) AS spent FROM orders GROUP BY customer_id) s
         ON s.customer_id = c.customer_id
 GROUP BY 1
 ORDER BY 1;

-- @ product_years: orders and revenue per year and product (orders only)
SELECT extract(year FROM ordered_at) AS year, product, count(*) AS orders, sum(amount) AS revenue
  FROM orders
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- @ vip_list: customers who spent over 15,000, with contact details (IN with HAVING)
SELECT customer_id, full_name, mobile, email, city
  FROM customer
 WHERE customer_id IN (SELECT customer_id FROM orders GROUP BY customer_id HAVING sum(amount) > 15000)
 ORDER BY customer_id;

-- @ monthly_active: distinct buyers per month and channel in 2025 (count DISTINCT)
SELECT date_trunc('month', ordered_at) AS month, channel, count(DISTINCT customer_id) AS buyers
  FROM orders
 WHERE ordered_at >= '2025-01-01' AND ordered_at < '2026-01-01'
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- @ id_regions: customers per region of their resident ID (first six characters)
SELECT left(id_number, 6) AS region, count(*) AS customers
  FROM customer
 GROUP BY 1
 ORDER BY 1;

-- @ zip_income: mean income per postal area (first four characters of zip)
SELECT left(zip, 4) AS area, count(*) AS customers, round(avg(income), 2) AS mean_income
  FROM customer
 GROUP BY 1
 ORDER BY 1;

-- @ orders_export: 2026 orders with the customer's contact details (wide export of a join)
SELECT c.customer_id, c.full_name, c.mobile, c.email, c.city,
       o.order_id, o.ordered_at, o.product, o.amount, o.shipping_address
  FROM customer c JOIN orders o ON o.customer_id = c.customer_id
 WHERE o.ordered_at >= '2026-01-01';
