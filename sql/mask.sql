--
-- mask: the text masks and format checks of doc/functions.md -- every
-- example, then edge cases (NULL, empty, one character, exact lengths,
-- multibyte, combining marks, 4-byte characters, separators at the ends,
-- huge inputs) and bad arguments.
--
SET search_path = privacy, public;

-- The examples of doc/functions.md, exactly.
SELECT call, result, result = expected AS ok
  FROM (VALUES
    ('mask_partial(''13812345678'', 3, 4)', mask_partial('13812345678', 3, 4), '138****5678'),
    ('mask_partial(''张三丰'', 1, 0)',       mask_partial('张三丰', 1, 0), '张**'),
    ('mask_partial(''abc'', 2, 2)',          mask_partial('abc', 2, 2), '***'),
    ('mask_email(''zhang.san@example.com'')', mask_email('zhang.san@example.com'), 'z***@example.com'),
    ('mask_email(''not-an-email'')',         mask_email('not-an-email'), '************'),
    ('mask_phone(''13812345678'')',          mask_phone('13812345678'), '138****5678'),
    ('mask_phone(''+86 138-1234-5678'')',    mask_phone('+86 138-1234-5678'), '+86 138-****-5678'),
    ('mask_phone(''010-6552 1234'')',        mask_phone('010-6552 1234'), '***-**** 1234'),
    ('mask_name(''张三丰'')',                mask_name('张三丰'), '张**'),
    ('mask_name(''欧阳娜娜'')',              mask_name('欧阳娜娜'), '欧阳**'),
    ('mask_name(''John Smith'')',            mask_name('John Smith'), 'J*** S****'),
    ('mask_name(''张'')',                    mask_name('张'), '*'),
    ('mask_cn_id(''11010519491231002X'')',   mask_cn_id('11010519491231002X'), '110105********002X'),
    ('mask_card(''4111 1111 1111 1111'')',   mask_card('4111 1111 1111 1111'), '**** **** **** 1111')
  ) AS t(call, result, expected);

-- NULL in, NULL out, for every function.
SELECT mask_partial(NULL, 1, 1) IS NULL AS a, mask_partial('x', NULL, 1) IS NULL AS b,
       mask_partial('x', 1, 1, NULL) IS NULL AS c, mask_email(NULL) IS NULL AS d,
       mask_phone(NULL) IS NULL AS e, mask_name(NULL) IS NULL AS f,
       mask_cn_id(NULL) IS NULL AS g, mask_card(NULL) IS NULL AS h,
       is_valid_cn_id(NULL) IS NULL AS i, luhn_valid(NULL) IS NULL AS j,
       is_cn_mobile(NULL) IS NULL AS k, is_email(NULL) IS NULL AS l;

--
-- mask_partial
--
SELECT v, f, l, pad, mask_partial(v, f, l, pad) AS result,
       length(mask_partial(v, f, l, pad)) AS len
  FROM (VALUES
    ('', 0, 0, '*'), ('', 3, 4, '*'), ('a', 0, 0, '*'), ('a', 1, 0, '*'), ('a', 0, 1, '*'),
    ('abcdef', 0, 0, '*'), ('abcdef', 6, 0, '*'), ('abcdef', 3, 3, '*'), ('abcdef', 3, 2, '*'),
    ('abcdef', 1, 1, '#'), ('abcdef', 2147483647, 2147483647, '*'),
    ('张三丰', 1, 1, '*'), ('张三丰', 0, 0, '＊'), ('ab', 0, 0, '🙈'),
    ('𠀀𠀁𠀂𠀃', 1, 1, '*'), ('😀😀😀', 1, 0, '·'),
    (' 138 ', 1, 1, '*'), ('-13812345678-', 4, 5, '*')
  ) AS t(v, f, l, pad);
-- Combining marks, variation selectors and joined emoji count as the
-- character they belong to: nothing is split.
SELECT mask_partial(E'e\u0301le\u0300ve', 1, 1) = E'e\u0301***e' AS combining,
       mask_partial(E'\U0001F468\u200D\U0001F469\u200D\U0001F467abc', 1, 0) = E'\U0001F468\u200D\U0001F469\u200D\U0001F467***' AS zwj_family,
       mask_partial(E'\u2764\uFE0Fxy', 1, 0) = E'\u2764\uFE0F**' AS variation_selector,
       mask_partial(E'x\u0301', 0, 0) = '*' AS masked_with_its_marks,
       mask_partial('e', 0, 0, E'e\u0301') = E'e\u0301' AS decomposed_pad;
-- Bad arguments: 22023, naming the argument.
SELECT mask_partial('abc', -1, 2);
SELECT mask_partial('abc', 1, -2);
SELECT mask_partial('abc', 1, 1, '');
SELECT mask_partial('abc', 1, 1, '**');
SELECT mask_partial('abc', 1, 1, '张三');

--
-- mask_email
--
SELECT v, mask_email(v) AS result
  FROM (VALUES
    (''), ('x'), ('@'), ('@example.com'), ('zhang@'), ('a@b'), ('a@b.c'),
    ('a@b@example.com'), ('张三@例子.中国'), ('é@x.fr'), (E'e\u0301mile@x.fr'),
    ('Zhang.San+crm@Example.COM'), ('😀@x.io'), ('  space@x.io ')
  ) AS t(v);

--
-- mask_phone
--
SELECT v, mask_phone(v) AS result
  FROM (VALUES
    (''), ('abc'), ('12345'), ('123456'), ('1234567'), ('13812345678'), ('8613812345678'),
    ('+8613812345678'), ('0086 138 1234 5678'), ('12812345678'), ('138 1234 5678'),
    ('(010) 6552-1234'), ('+1 (415) 555-0100'), ('１３８１２３４５６７８'),
    ('tel: 138-1234-5678 (mobile)'), ('1381234567'), ('138123456789'), ('+1 415 555 0100'),
    ('+44 13812 345678'), (' +86 13812345678')
  ) AS t(v);

--
-- mask_name
--
SELECT v, mask_name(v) AS result
  FROM (VALUES
    (''), ('张三'), ('张三丰'), ('欧阳'), ('司马懿'), ('诸葛孔明'), ('歐陽娜娜'),
    ('阿沛·阿旺晋美'), ('𠀀𠀁'), ('J'), ('John'), ('Mary-Jane Watson'), (' John  Smith '),
    ('O''Brien'), ('José García'), ('Jean-Luc Picard'), ('张 Wei'), ('김민수'), ('Søren Kierkegaard')
  ) AS t(v);
SELECT mask_name(E'Jose\u0301 Garci\u0301a') = E'J*** G*****' AS combining_marks_stay_with_their_letter;

-- Han names written with separators keep only the surname: one character, or
-- the first two when they are a compound surname; every separator (space,
-- ideographic space U+3000, tab, hyphen, middle dots U+00B7, U+30FB, U+2022,
-- U+2027, full-width stop U+FF0E) stays in place, everything else is *.
SELECT v, mask_name(v) AS result
  FROM (VALUES
    ('张 三'), ('欧阳 娜娜'), (E'张\u3000三丰'), ('欧阳·娜娜'), (E'欧阳\u30FB娜娜'), (E'欧阳\u2022娜娜'),
    (E'欧阳\u2027娜娜'), (E'欧阳\uFF0E娜娜'), (E'张\t三'), ('张-三'), ('张 三 丰'), ('张  三'),
    ('欧阳 娜 娜'), ('欧阳·娜·娜'), (' 张三'), ('张三 '), ('·张三·'), (E'\u3000\u3000张三丰\u3000'),
    -- a compound surname split by a separator: only its first character is kept
    ('欧 阳娜娜'), ('欧·阳娜娜'), ('欧 阳'),
    -- a name that is only a surname, with separators: masked whole
    ('张 '), (' 欧阳 '), ('·欧阳·'),
    -- Han and other letters: the surname (first character) only
    ('张三 Zhang San'), ('张 Wei'), ('张三丰abc'), ('Zhang San 张三'), ('Li 李'), ('张 三2号'),
    ('𠀀 𠀁'), ('歐陽 娜娜')
  ) AS t(v);

--
-- mask_cn_id
--
SELECT v, mask_cn_id(v) AS result
  FROM (VALUES
    (''), ('1'), ('11010519491231002X'), ('110105194912310021'), ('110105491231002'),
    ('11010519491231002'), ('11010519491231002XX'), ('１１０１０５１９４９１２３１００２Ｘ')
  ) AS t(v);

--
-- mask_card
--
SELECT v, mask_card(v) AS result
  FROM (VALUES
    (''), ('1234'), ('12345'), ('4111111111111111'), ('4111-1111-1111-1111'),
    (' 4111 1111 1111 1111 '), ('6222 0212 3456 7890 123'), ('card: 4111 1111 1111 1111, exp 12/29')
  ) AS t(v);

--
-- Huge inputs: 16 MB go through without trouble, length kept.
--
SELECT length(mask_partial(repeat('x', 16000000), 2, 2)) AS partial_len,
       right(mask_partial(repeat('x', 16000000), 2, 2), 3) AS partial_tail,
       length(mask_name(repeat('张', 4000000))) AS name_len,
       length(mask_email(repeat('a', 16000000) || '@x.io')) AS email_len,
       length(mask_phone(repeat('1', 16000000))) AS phone_len,
       length(mask_card(repeat('1', 16000000))) AS card_len,
       length(mask_cn_id(repeat('1', 16000000))) AS cn_id_len;

--
-- is_valid_cn_id: 18 characters, 17 digits + digit or X, real birth date,
-- ISO 7064 MOD 11-2 check character.
--
CREATE FUNCTION pg_temp.with_check(body text) RETURNS text LANGUAGE sql AS $$
    SELECT body || substr('10X98765432',
        (SELECT sum(substr(body, i::int, 1)::int * w) FROM unnest(ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])
                WITH ORDINALITY AS t(w, i))::int % 11 + 1, 1)
$$;
SELECT v, is_valid_cn_id(v) AS valid
  FROM (VALUES
    ('11010519491231002X'), ('11010519491231002x'), ('11010519491231002Y'), ('110105194912310021'),
    (pg_temp.with_check('11010520000229001')), (pg_temp.with_check('11010519000229001')),
    (pg_temp.with_check('11010520240229001')), (pg_temp.with_check('11010520230229001')),
    (pg_temp.with_check('11010519991301001')), (pg_temp.with_check('11010519990100001')),
    (pg_temp.with_check('11010519990431001')), (pg_temp.with_check('11010517991231001')),
    (''), ('11010519491231002'), ('110105194912310020X'), ('11010519491231002 '),
    ('A1010519491231002X'), ('１１０１０５１９４９１２３１００２Ｘ')
  ) AS t(v);

--
-- luhn_valid: Luhn over the digits, spaces and hyphens ignored, 12 or more digits.
--
SELECT v, luhn_valid(v) AS valid
  FROM (VALUES
    ('4111 1111 1111 1111'), ('4111-1111-1111-1111'), ('4111111111111111'), ('4111111111111112'),
    ('0000 0000 0000'), ('000 0000 0000'), ('79927398713'), ('6222 0212 3456 7890 128'),
    (''), ('4111_1111_1111_1111'), ('4111 1111 1111 111a'), ('４１１１１１１１１１１１１１１１')
  ) AS t(v);

--
-- is_cn_mobile: 11 digits 1[3-9]..., optional +86/86 and separators.
--
SELECT v, is_cn_mobile(v) AS mobile
  FROM (VALUES
    ('13812345678'), ('19912345678'), ('+8613812345678'), ('8613812345678'), ('86 138 1234 5678'),
    ('+86-138-1234-5678'), ('138-1234-5678'), ('12812345678'), ('10812345678'), ('1381234567'),
    ('138123456789'), ('+85213812345678'), ('008613812345678'), ('+13812345678'), (''),
    ('138 1234 567a'), ('１３８１２３４５６７８')
  ) AS t(v);

--
-- is_email: one @, non-empty local part, a domain with a dot.
--
SELECT v, is_email(v) AS email
  FROM (VALUES
    ('a@b.c'), ('zhang.san@example.com'), ('张三@例子.中国'), ('a@bc'), ('@b.c'), ('a@'),
    ('a@b.c.'), ('a@.bc'), ('a@@b.c'), ('a@b@c.d'), ('a b@c.d'), (E'a\t@c.d'), (''), ('a@b.c ')
  ) AS t(v);

--
-- Each mask of character(n): the text mask of the value without its
-- trailing spaces, with those spaces given back (the views cast the result
-- to the column's character(n), which then pads and truncates as the cast of
-- the text mask did).  Every value, masked both ways, cast back to char(n).
--
SELECT v, n,
       mask_partial(v::text, 2, 1)::varchar AS text_partial, mask_partial(v, 2, 1)::varchar AS char_partial,
       mask_partial(v, 2, 1) = mask_partial(v::text, 2, 1)::bpchar AS same_partial,
       octet_length(mask_partial(v, 1, 0, '＊')) AS bytes_with_pad
  FROM (VALUES ('13812345678'::char(14), 14), ('张三丰'::char(5), 5), (''::char(3), 3), ('a'::char(1), 1),
               ('école'::char(8), 8)) AS t(v, n);
SELECT count(*) AS cases,
       count(*) FILTER (WHERE format('[%s]', m.by_char::char(12)) = format('[%s]', m.by_text::char(12))) AS same_as_char12,
       count(*) FILTER (WHERE format('[%s]', m.wide_char::char(30)) = format('[%s]', m.wide_text::char(30))) AS same_as_char30
  FROM (VALUES ('13812345678'), ('138-1234-5678'), ('110101199003077777'), ('11010119900307X'),
               ('zhang.san@example.com'), ('not an e-mail'), ('张三丰'), ('欧阳娜娜'), ('John Smith'),
               ('6222 0201 2345 6789'), (''), ('a'), ('  lead'), ('a@b.cn')) AS v(t)
 CROSS JOIN LATERAL (VALUES
       (mask_email(v.t::char(12)), mask_email(v.t::char(12)::text), mask_email(v.t::char(30)), mask_email(v.t::char(30)::text)),
       (mask_phone(v.t::char(12)), mask_phone(v.t::char(12)::text), mask_phone(v.t::char(30)), mask_phone(v.t::char(30)::text)),
       (mask_name(v.t::char(12)), mask_name(v.t::char(12)::text), mask_name(v.t::char(30)), mask_name(v.t::char(30)::text)),
       (mask_cn_id(v.t::char(12)), mask_cn_id(v.t::char(12)::text), mask_cn_id(v.t::char(30)), mask_cn_id(v.t::char(30)::text)),
       (mask_card(v.t::char(12)), mask_card(v.t::char(12)::text), mask_card(v.t::char(30)), mask_card(v.t::char(30)::text)),
       (mask_partial(v.t::char(12), 3, 2), mask_partial(v.t::char(12)::text, 3, 2),
        mask_partial(v.t::char(30), 3, 2), mask_partial(v.t::char(30)::text, 3, 2))
    ) AS m(by_char, by_text, wide_char, wide_text);
SELECT pg_typeof(mask_cn_id('110101199003077777'::char(18))) AS char_result,
       pg_typeof(mask_cn_id('110101199003077777')) AS unknown_literal_result,
       octet_length(mask_cn_id('110101199003077777'::char(20))) AS keeps_padding;

-- The volatility, strictness and parallel safety doc/functions.md states.
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel, count(*) AS overloads
  FROM pg_proc p
 WHERE p.pronamespace = 'privacy'::regnamespace
   AND p.proname IN ('mask_partial', 'mask_email', 'mask_phone', 'mask_name', 'mask_cn_id',
                     'mask_card', 'pseudonym', 'pseudonym_int', 'generalize', 'noise',
                     'is_valid_cn_id', 'luhn_valid', 'is_cn_mobile', 'is_email')
 GROUP BY 1, 2, 3, 4 ORDER BY 1;
