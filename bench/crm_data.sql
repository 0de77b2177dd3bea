-- bench/crm_data.sql -- a deterministic generator of a realistic CRM.
--
--   psql -v rows=1000 -f bench/crm_data.sql        (1,000 customers by default)
--   psql -v rows=1000000 -f bench/crm_data.sql     (for benchmarks)
--
-- Creates public.customer (one row per data subject) and public.orders
-- (about 2.5 orders per customer), replacing them if they exist.  Every
-- value is a function of the row number through hashint8extended, so the
-- same size always gives the same data, on any machine.
--
-- customer: Han names (with compound surnames such as 欧阳, 诸葛) and Latin
-- names, mainland mobiles, e-mails, 18-character resident IDs with valid
-- check characters whose birth date and sex digit agree with the other
-- columns, gender, zip and city agreeing with the ID's region, income,
-- ethnicity, religion, loyalty points, sign-up time, and marketing_notes,
-- which the demo deliberately leaves unlabelled.

\if :{?rows}
\else
\set rows 1000
\endif
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- h(i, salt): a non-negative 63-bit hash of the row number.
CREATE FUNCTION pg_temp.h(i bigint, salt int) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT pg_catalog.hashint8extended(i, salt) & 9223372036854775807';

-- ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID.
CREATE FUNCTION pg_temp.cn_id_check(body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr('10X98765432', (sum(substr(body, i::int, 1)::int * w) % 11)::int + 1, 1)
      FROM unnest(ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
           WITH ORDINALITY AS t(w, i)
$$;

-- Regions: resident-ID prefix, city, postal code.
CREATE TEMP TABLE gen_region (n int PRIMARY KEY, code text, city text, zip text);
INSERT INTO gen_region VALUES
    (0, '110105', '北京', '100020'), (1, '110108', '北京', '100080'),
    (2, '310115', '上海', '200120'), (3, '310104', '上海', '200030'),
    (4, '440106', '广州', '510630'), (5, '440305', '深圳', '518052'),
    (6, '330106', '杭州', '310012'), (7, '510107', '成都', '610041'),
    (8, '420106', '武汉', '430071'), (9, '610113', '西安', '710065'),
    (10, '320106', '南京', '210024'), (11, '500103', '重庆', '400010'),
    (12, '120101', '天津', '300041'), (13, '370202', '青岛', '266001'),
    (14, '350203', '厦门', '361003');

DROP TABLE IF EXISTS public.orders, public.customer;

CREATE TABLE public.customer (
    customer_id     bigint PRIMARY KEY,
    full_name       text NOT NULL,
    gender          char(1) NOT NULL,
    birth_date      date NOT NULL,
    mobile          text NOT NULL,
    email           text,
    id_number       char(18) NOT NULL,
    zip             text NOT NULL,
    city            text NOT NULL,
    income          numeric(12,2),
    ethnicity       text,
    religion        text,
    loyalty_points  integer NOT NULL,
    signup_at       timestamptz NOT NULL,
    marketing_notes text
);

CREATE TABLE public.orders (
    order_id         bigint PRIMARY KEY,
    customer_id      bigint NOT NULL REFERENCES public.customer,
    ordered_at       timestamptz NOT NULL,
    product          text NOT NULL,
    channel          text NOT NULL,
    amount           numeric(10,2) NOT NULL,
    shipping_address text
);

\echo '  generating' :rows 'customers ...'
INSERT INTO public.customer
SELECT i,
       -- name: 8 % Latin, 5 % compound Han surname, the rest single surname
       CASE WHEN h1 % 100 < 8 THEN
                (ARRAY['John', 'Mary', 'David', 'Anna', 'Michael', 'Sarah', 'Peter', 'Emma',
                       'James', 'Olivia', 'Jean-Luc', 'Anne-Marie', 'Søren', 'José'])[1 + h2 % 14]
                || ' ' ||
                (ARRAY['Smith', 'Johnson', 'Brown', 'Müller', 'O''Brien', 'García', 'Lee',
                       'Nguyen', 'Kowalski', 'Smith-Jones', 'Dubois', 'Rossi'])[1 + h3 % 12]
            WHEN h1 % 100 < 13 THEN
                (ARRAY['欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙',
                       '慕容', '长孙', '宇文', '司徒', '夏侯', '令狐', '端木', '南宫'])[1 + h2 % 16]
                || (ARRAY['娜娜', '明', '婉儿', '云', '晓峰', '静', '子墨', '若曦'])[1 + h3 % 8]
            ELSE
                (ARRAY['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙',
                       '马', '朱', '胡', '郭', '何', '高', '林', '罗', '郑', '梁', '谢', '宋',
                       '唐', '许', '韩', '冯', '邓', '曹', '彭', '曾', '肖', '田', '董', '袁'])[1 + h2 % 36]
                || (ARRAY['伟', '芳', '娜', '秀英', '敏', '静', '丽', '强', '磊', '军', '洋',
                          '勇', '艳', '杰', '娟', '涛', '明', '超', '秀兰', '霞', '平', '刚',
                          '桂英', '华', '建华', '婷', '玉兰', '晨', '浩', '宇', '子涵', '欣怡',
                          '梓轩', '一诺', '雨桐', '思远', '嘉怡', '俊杰', '晓明', '丹'])[1 + h3 % 40]
       END,
       gender,
       birth_date,
       -- mainland mobile: 1[3-9]x + 8 digits
       (ARRAY['138', '139', '137', '136', '135', '150', '151', '152', '158', '159', '186',
              '187', '188', '189', '176', '177', '180', '181', '198', '199'])[1 + h4 % 20]
           || lpad((h5 % 100000000)::text, 8, '0'),
       -- e-mail: 5 % missing, otherwise a QQ number, a handle or a company address
       CASE WHEN h6 % 100 < 5 THEN NULL
            WHEN h6 % 100 < 45 THEN (10000 + h7 % 900000000)::text || '@qq.com'
            WHEN h6 % 100 < 80 THEN
                (ARRAY['sunny', 'tiger', 'xiaoyu', 'happy', 'lucky', 'moon', 'river', 'panda'])[1 + h7 % 8]
                || i::text || '@' || (ARRAY['163.com', '126.com', 'sina.com', 'gmail.com'])[1 + h8 % 4]
            ELSE 'c' || i::text || '.' || (h7 % 1000)::text || '@example.com'
       END,
       -- resident ID: region, birth date, sequence with the sex digit, check character
       body || pg_temp.cn_id_check(body),
       left(reg.zip, 4) || lpad((h9 % 100)::text, 2, '0'),
       reg.city,
       round((24000 + h10 % 120000 + CASE WHEN h11 % 10 = 0 THEN h12 % 600000 ELSE 0 END)::numeric, 2),
       CASE WHEN h13 % 100 < 91 THEN '汉族'
            ELSE (ARRAY['壮族', '回族', '满族', '维吾尔族', '苗族', '彝族', '土家族', '藏族', '蒙古族'])[1 + h14 % 9]
       END,
       CASE WHEN h15 % 100 < 85 THEN NULL
            ELSE (ARRAY['佛教', '道教', '基督教', '天主教', '伊斯兰教'])[1 + h14 % 5]
       END,
       (h16 % 20000)::int,
       timestamptz '2015-01-01 00:00:00+08' + make_interval(secs => (h17 % 315360000)::float8),
       CASE WHEN h18 % 100 < 60 THEN NULL
            ELSE (ARRAY['偏好短信联系', '只接受邮寄信件', 'VIP，节日送礼', '投诉过物流', 'prefers e-mail'])[1 + h18 % 5]
       END
  FROM generate_series(1, :rows) AS g(i),
       LATERAL (SELECT pg_temp.h(i, 1) AS h1, pg_temp.h(i, 2) AS h2, pg_temp.h(i, 3) AS h3,
                       pg_temp.h(i, 4) AS h4, pg_temp.h(i, 5) AS h5, pg_temp.h(i, 6) AS h6,
                       pg_temp.h(i, 7) AS h7, pg_temp.h(i, 8) AS h8, pg_temp.h(i, 9) AS h9,
                       pg_temp.h(i, 10) AS h10, pg_temp.h(i, 11) AS h11, pg_temp.h(i, 12) AS h12,
                       pg_temp.h(i, 13) AS h13, pg_temp.h(i, 14) AS h14, pg_temp.h(i, 15) AS h15,
                       pg_temp.h(i, 16) AS h16, pg_temp.h(i, 17) AS h17, pg_temp.h(i, 18) AS h18,
                       pg_temp.h(i, 19) AS h19, pg_temp.h(i, 20) AS h20, pg_temp.h(i, 21) AS h21) AS h,
       LATERAL (SELECT CASE WHEN h19 % 2 = 0 THEN 'F' ELSE 'M' END AS gender,
                       date '1945-01-01' + (h20 % 22645)::int AS birth_date) AS p,
       LATERAL (SELECT r.code, r.city, r.zip FROM gen_region r WHERE r.n = h21 % 15) AS reg,
       -- sequence digits: the last one is odd for men, even for women
       LATERAL (SELECT reg.code || to_char(p.birth_date, 'YYYYMMDD')
                       || lpad((h12 % 50)::text, 2, '0')
                       || ((h13 % 5) * 2 + CASE WHEN p.gender = 'M' THEN 1 ELSE 0 END)::text
                       AS body) AS idb;

-- Orders: 0 to 5 per customer, after sign-up.
\echo '  generating their orders ...'
INSERT INTO public.orders
SELECT row_number() OVER (ORDER BY c.customer_id, k),
       c.customer_id,
       c.signup_at + make_interval(secs => (pg_temp.h(c.customer_id * 8 + k, 31) % 63072000)::float8),
       (ARRAY['手机', '笔记本电脑', '耳机', '茶叶', '运动鞋', '保温杯', 'coffee beans', '图书'])
           [1 + pg_temp.h(c.customer_id * 8 + k, 32) % 8],
       (ARRAY['app', 'web', 'store', 'phone'])[1 + pg_temp.h(c.customer_id * 8 + k, 33) % 4],
       round((9.9 + pg_temp.h(c.customer_id * 8 + k, 34) % 500000 / 100.0)::numeric, 2),
       c.city || (ARRAY['朝阳路', '人民路', '解放路', '中山路', '建设路'])[1 + pg_temp.h(c.customer_id, 35) % 5]
           || (1 + pg_temp.h(c.customer_id, 36) % 300)::text || '号'
  FROM public.customer c,
       generate_series(1, (pg_temp.h(c.customer_id, 30) % 6)::int) AS k;

CREATE INDEX ON public.orders (customer_id);
ANALYZE public.customer, public.orders;
RESET client_min_messages;
