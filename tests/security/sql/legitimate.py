"""Legitimate analytic queries and their unrestricted reference computations.

Each entry: (name, policy-checked SQL, reference SQL or None for "the same SQL", ordered). The
reference runs on plain DuckDB over the plaintext registers and applies the k rule (k = 10)
by hand where a group is small (淳安县 has 3 residents, 采矿业 has 4 enterprises), so the
secure result must equal it exactly (floats to 1e-6).
"""

K_DISTRICT = "WHERE district <> '淳安县'"

LEGITIMATE = [
    ("district-counts",
     "SELECT district, count(*) AS people FROM population GROUP BY district",
     f"SELECT district, count(*) FROM population {K_DISTRICT} GROUP BY district", False),
    ("sex-by-education",
     "SELECT sex, education, count(*) AS n, avg(income) AS mean_income FROM population GROUP BY sex, education",
     None, False),
    ("insured-by-district-join",
     "SELECT p.district, count(DISTINCT s.id_number) AS insured, avg(s.amount) AS mean_amount "
     "FROM social_insurance s JOIN population p ON s.id_number = p.id_number GROUP BY p.district",
     "SELECT p.district, count(DISTINCT s.id_number), avg(s.amount) FROM social_insurance s "
     "JOIN population p ON s.id_number = p.id_number WHERE p.district <> '淳安县' GROUP BY p.district", False),
    ("three-agency-join",
     "SELECT e.industry, count(DISTINCT s.id_number) AS workers, sum(s.amount) AS total FROM social_insurance s "
     "JOIN enterprise e ON s.credit_code = e.credit_code JOIN population p ON p.id_number = s.id_number "
     "GROUP BY e.industry",
     "SELECT e.industry, count(DISTINCT s.id_number), sum(s.amount) FROM social_insurance s "
     "JOIN enterprise e ON s.credit_code = e.credit_code JOIN population p ON p.id_number = s.id_number "
     "GROUP BY e.industry HAVING count(DISTINCT e.credit_code) >= 10 AND count(DISTINCT s.id_number) >= 10", False),
    ("case-cohorts",
     "SELECT CASE WHEN birth_date < DATE '1970-01-01' THEN 'before 1970' WHEN birth_date < DATE '1990-01-01' "
     "THEN '1970-1989' ELSE '1990 on' END AS cohort, count(*) AS n, avg(income) AS mean_income "
     "FROM population GROUP BY 1", None, False),
    ("monthly-contributions",
     "SELECT date_trunc('month', period) AS month, count(*) AS records, sum(amount) AS total "
     "FROM social_insurance GROUP BY 1 ORDER BY 1", None, True),
    ("insurance-rate",
     "WITH insured AS (SELECT id_number, count(*) AS months FROM social_insurance GROUP BY id_number) "
     "SELECT p.district, count(*) AS residents, count(i.id_number) AS insured, "
     "round(100.0 * count(i.id_number) / count(*), 2) AS rate FROM population p "
     "LEFT JOIN insured i ON p.id_number = i.id_number GROUP BY p.district",
     "WITH insured AS (SELECT id_number, count(*) AS months FROM social_insurance GROUP BY id_number) "
     "SELECT p.district, count(*), count(i.id_number), round(100.0 * count(i.id_number) / count(*), 2) "
     "FROM population p LEFT JOIN insured i ON p.id_number = i.id_number WHERE p.district <> '淳安县' "
     "GROUP BY p.district", False),
    ("window-share-and-rank",
     "SELECT district, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r, "
     "round(100.0 * count(*) / sum(count(*)) OVER (), 3) AS share FROM population GROUP BY district",
     "SELECT district, count(*), rank() OVER (ORDER BY count(*) DESC), "
     f"round(100.0 * count(*) / sum(count(*)) OVER (), 3) FROM population {K_DISTRICT} GROUP BY district", False),
    ("qualify-top-3",
     "SELECT district, avg(income) AS a FROM population GROUP BY district "
     "QUALIFY rank() OVER (ORDER BY avg(income) DESC) <= 3 ORDER BY a DESC",
     f"SELECT district, avg(income) AS a FROM population {K_DISTRICT} GROUP BY district "
     "QUALIFY rank() OVER (ORDER BY avg(income) DESC) <= 3 ORDER BY a DESC", True),
    ("qualify-with-limit",  # sqlglot alone applies the LIMIT before the QUALIFY filter on Spark
     "SELECT education, count(*) AS n FROM population GROUP BY education "
     "QUALIFY row_number() OVER (ORDER BY count(*) DESC, education) > 1 ORDER BY n DESC, education LIMIT 2",
     None, True),
    ("regexp-back-reference",
     r"SELECT regexp_replace(district, '(.)(.*)', '\2\1') AS rotated, count(*) AS n FROM population GROUP BY 1",
     r"SELECT regexp_replace(district, '(.)(.*)', '\2\1'), count(*) FROM population "
     f"{K_DISTRICT} GROUP BY 1", False),
    ("regexp-extract-whole-match",
     "SELECT regexp_extract(insurance_type, '(养老|失业)') AS kind, count(*) AS n FROM social_insurance GROUP BY 1",
     None, False),
    ("day-of-week",
     "SELECT dayofweek(birth_date) AS dow, count(*) AS n FROM population GROUP BY 1 ORDER BY 1", None, True),
    ("firms-by-decade",
     "SELECT floor(year(established_on) / 10) * 10 AS decade, count(*) AS firms, avg(registered_capital) AS capital "
     "FROM enterprise GROUP BY 1",
     "SELECT floor(year(established_on) / 10) * 10, count(*), avg(registered_capital) FROM enterprise GROUP BY 1 "
     "HAVING count(DISTINCT credit_code) >= 10", False),
    ("quarters",
     "SELECT extract(quarter FROM period) AS q, sum(amount) AS total FROM social_insurance GROUP BY 1", None, False),
    ("strftime-months",
     "SELECT strftime(period, '%Y-%m') AS ym, count(DISTINCT id_number) AS people FROM social_insurance GROUP BY 1",
     None, False),
    ("age-decades",
     "SELECT floor(date_diff('day', birth_date, DATE '2025-01-01') / 3652.5) AS decade_of_age, count(*) AS n "
     "FROM population GROUP BY 1",
     "SELECT floor(date_diff('day', birth_date, DATE '2025-01-01') / 3652.5), count(*) FROM population "
     "GROUP BY 1 HAVING count(DISTINCT id_number) >= 10", False),
    ("safe-division",
     "SELECT education, sum(income) / nullif(count(*), 0) AS per_head FROM population GROUP BY 1", None, False),
    ("distinct-people-and-records",
     "SELECT count(DISTINCT id_number) AS people, count(*) AS records FROM social_insurance", None, False),
    ("per-person-totals-banded",
     "WITH per AS (SELECT id_number, sum(amount) AS total FROM social_insurance GROUP BY id_number) "
     "SELECT CASE WHEN total < 2000 THEN 'low' WHEN total < 4000 THEN 'mid' ELSE 'high' END AS band, "
     "count(*) AS people, avg(total) AS mean_total FROM per GROUP BY 1",
     "WITH per AS (SELECT id_number, sum(amount) AS total FROM social_insurance GROUP BY id_number) "
     "SELECT CASE WHEN total < 2000 THEN 'low' WHEN total < 4000 THEN 'mid' ELSE 'high' END, count(*), avg(total) "
     "FROM per GROUP BY 1 HAVING count(*) >= 10", False),
    ("firms-and-workers-by-district",
     "SELECT e.district, count(DISTINCT e.credit_code) AS firms, count(DISTINCT s.id_number) AS workers "
     "FROM enterprise e JOIN social_insurance s ON e.credit_code = s.credit_code GROUP BY e.district",
     "SELECT e.district, count(DISTINCT e.credit_code), count(DISTINCT s.id_number) FROM enterprise e "
     "JOIN social_insurance s ON e.credit_code = s.credit_code GROUP BY e.district "
     "HAVING count(DISTINCT e.credit_code) >= 10 AND count(DISTINCT s.id_number) >= 10", False),
    ("legal-representatives-education",
     "SELECT p.education, count(*) AS representatives FROM enterprise e "
     "JOIN population p ON e.legal_rep_id = p.id_number GROUP BY p.education",
     "SELECT p.education, count(*) FROM enterprise e JOIN population p ON e.legal_rep_id = p.id_number "
     "GROUP BY p.education HAVING count(DISTINCT e.credit_code) >= 10 AND count(DISTINCT p.id_number) >= 10", False),
    ("uninsured-left-join",
     "SELECT p.sex, count(*) FILTER (WHERE s.id_number IS NULL) AS uninsured FROM population p "
     "LEFT JOIN social_insurance s ON p.id_number = s.id_number GROUP BY p.sex", None, False),
    ("first-character",
     "SELECT substr(district, 1, 1) AS first_char, count(*) AS n FROM population GROUP BY 1",
     f"SELECT substr(district, 1, 1), count(*) FROM population {K_DISTRICT} GROUP BY 1", False),
    ("having-and-order",
     "SELECT district, count(*) AS n FROM population GROUP BY district HAVING avg(income) > 0 ORDER BY n DESC, district",
     f"SELECT district, count(*) AS n FROM population {K_DISTRICT} GROUP BY district "
     "HAVING avg(income) > 0 ORDER BY n DESC, district", True),
    ("dispersion",
     "SELECT sex, stddev_samp(income) AS sd, var_pop(income) AS var, corr(income, year(birth_date)) AS r "
     "FROM population GROUP BY sex", None, False),
    ("birth-range-by-district",
     "SELECT district, min(birth_date) AS oldest, max(birth_date) AS youngest FROM population GROUP BY district",
     f"SELECT district, min(birth_date), max(birth_date) FROM population {K_DISTRICT} GROUP BY district", False),
    ("median-birth-year",
     "SELECT sex, median(year(birth_date)) AS median_year FROM population GROUP BY sex", None, False),
    ("count-if",
     "SELECT district, count_if(income > 60000) AS rich FROM population GROUP BY district",
     f"SELECT district, count_if(income > 60000) FROM population {K_DISTRICT} GROUP BY district", False),
    ("shares-of-total",
     "SELECT d.district, d.n, round(d.n * 100.0 / t.total, 2) AS pct FROM "
     "(SELECT district, count(*) AS n FROM population GROUP BY district) d "
     "CROSS JOIN (SELECT count(*) AS total FROM population) t ORDER BY pct DESC, d.district",
     "SELECT d.district, d.n, round(d.n * 100.0 / t.total, 2) AS pct FROM "
     f"(SELECT district, count(*) AS n FROM population {K_DISTRICT} GROUP BY district) d "
     "CROSS JOIN (SELECT count(*) AS total FROM population) t ORDER BY pct DESC, d.district", True),
    ("latest-record-per-person",
     "WITH latest AS (SELECT id_number, amount FROM social_insurance "
     "QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY period DESC) = 1) "
     "SELECT p.district, avg(l.amount) AS latest_amount, count(*) AS people FROM latest l "
     "JOIN population p ON p.id_number = l.id_number GROUP BY p.district",
     "WITH latest AS (SELECT id_number, amount FROM social_insurance "
     "QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY period DESC) = 1) "
     "SELECT p.district, avg(l.amount), count(*) FROM latest l JOIN population p ON p.id_number = l.id_number "
     "WHERE p.district <> '淳安县' GROUP BY p.district", False),
    ("in-list-filter",
     "SELECT district, count(*) AS graduates FROM population WHERE education IN ('本科', '硕士') GROUP BY district",
     "SELECT district, count(*) FROM population WHERE education IN ('本科', '硕士') GROUP BY district "
     "HAVING count(DISTINCT id_number) >= 10", False),
    ("top-3-limit",
     "SELECT district, avg(income) AS a FROM population GROUP BY district ORDER BY a DESC LIMIT 3",
     f"SELECT district, avg(income) AS a FROM population {K_DISTRICT} GROUP BY district ORDER BY a DESC LIMIT 3",
     True),
    ("log-income",
     "SELECT education, round(avg(ln(income)), 4) AS mean_log_income FROM population GROUP BY 1", None, False),
    ("month-over-month",
     "SELECT date_trunc('month', period) AS m, sum(amount) AS total, "
     "sum(amount) - lag(sum(amount)) OVER (ORDER BY date_trunc('month', period)) AS change "
     "FROM social_insurance GROUP BY 1 ORDER BY 1", None, True),
    ("string-concat-labels",
     "SELECT sex || '-' || education AS label, count(*) AS n FROM population GROUP BY 1", None, False),
]
