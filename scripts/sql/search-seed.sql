-- Offers with varied text for timing the web API's search index (scripts/bench-search):
-- :offers rows straight into `offers`, with titles of a subject, a qualifier, a place and
-- a year, descriptions of 8 to 40 words drawn from a vocabulary of about 250, and one
-- to three tags of 24. Deterministic (setseed). Only the columns the index reads vary.
SELECT setseed(0.42) \gset

INSERT INTO indexer_cursor (block_number, block_hash, marketplace)
VALUES (1000000, sha256('head'::bytea), decode(repeat('42', 32), 'hex'));

WITH v AS (
  SELECT
    ARRAY['Daily step counts', 'Heart rate', 'Sleep stages', 'Grocery receipts',
          'Commute times', 'Screen time', 'Blood glucose', 'Running routes',
          'Cycling power', 'Spending by category', 'Music listening history',
          'Search history', 'Weight and body fat', 'Meal photos labels', 'Mood diary',
          'Menstrual cycle log', 'Home energy use', 'Thermostat readings', 'Car trips',
          'Email volume', 'Calendar density', 'Reading log', 'Podcast plays',
          'Language lessons', 'Air quality at home', 'Water intake', 'Blood pressure',
          'Medication adherence', 'Keyboard typing speed', 'Video watch time'] AS subject,
    ARRAY['cleaned', 'raw', 'hourly', 'per minute', 'weekly summary', 'annotated',
          'deduplicated', 'with GPS', 'anonymised', 'from a smartwatch', 'from a phone',
          'from a chest strap', 'itemised', 'labelled', 'complete', 'partial',
          'resampled', 'with weather', 'by app', 'by room'] AS qualifier,
    ARRAY['Berlin', 'Lisbon', 'Nairobi', 'Osaka', 'Toronto', 'Lima', 'Krakow', 'Austin',
          'Melbourne', 'Seoul', 'Accra', 'Oslo', 'Bogota', 'Mumbai', 'Lyon', 'Tallinn',
          'Cape Town', 'Quito', 'Hanoi', 'Dublin'] AS place,
    string_to_array(
      'one row per day minute hour week month year from phone watch ring strap scale sensor '
      'app export api csv json parquet cleaned raw gaps filled removed outliers duplicates '
      'timezone utc local time stamp stamps reading readings value values average median '
      'peak resting active sleep deep light rem awake heart rate variability steps distance '
      'calories floors pace speed cadence power route elevation weather temperature humidity '
      'rain wind indoor outdoor commute train bus bike car walk drive trip trips station '
      'grocery store receipt item items price prices category categories brand organic fresh '
      'frozen discount coupon loyalty card cash spending budget rent bills energy kwh gas '
      'water heating cooling thermostat room kitchen bedroom office window door light lamp '
      'screen unlock notification email message call meeting calendar event focus break '
      'music song artist album genre playlist podcast episode minutes listened skipped video '
      'series film watched reading book page chapter author language lesson word streak '
      'glucose insulin carb meal breakfast lunch dinner snack coffee tea alcohol water intake '
      'mood energy stress anxiety journal note tag symptom headache medication dose pill '
      'blood pressure systolic diastolic weight fat muscle bmi cycle period ovulation '
      'keyboard typing speed error rate mouse clicks search query queries browser tab site '
      'air quality pm25 co2 noise pollen allergy season spring summer autumn winter holiday '
      'weekend weekday morning evening night two three four five years complete partial '
      'consent verified owner contributor union pooled sample subset full history archive',
      ' ') AS word,
    ARRAY['health', 'fitness', 'sleep', 'shopping', 'travel', 'finance', 'energy', 'home',
          'media', 'music', 'reading', 'food', 'mood', 'medical', 'productivity', 'learning',
          'environment', 'commute', 'wearable', 'phone', 'daily', 'hourly', 'raw',
          'cleaned'] AS tag
)
INSERT INTO offers (id, owner, content_root, header, key_commitment, price, asset, uri, title,
                    description, tags, schema, size, bond, status, created_block,
                    updated_block)
SELECT i,
       decode(repeat(to_hex(16 + i % 200), 32), 'hex'),
       sha256(i::text::bytea), decode('444d5345414c01' || repeat('00', 19), 'hex'),
       sha256(('k' || i)::bytea),
       (random() * 1000000)::bigint,
       CASE WHEN i % 4 = 0 THEN decode(repeat('70', 32), 'hex') ELSE ''::bytea END,
       'file:///blobs/' || i || '.dmseal',
       v.subject[1 + floor(random() * 30)::int] || ', ' || v.qualifier[1 + floor(random() * 20)::int]
         || ', ' || v.place[1 + floor(random() * 20)::int] || ' ' || (2015 + i % 11),
       (SELECT string_agg(w, ' ') FROM
          (SELECT v.word[1 + floor(random() * array_length(v.word, 1))::int] AS w
             FROM generate_series(1, 8 + (i * 7) % 33)) AS words),
       (SELECT array_agg(DISTINCT t) FROM
          (SELECT v.tag[1 + floor(random() * 24)::int] AS t
             FROM generate_series(1, 1 + i % 3)) AS tags),
       'date,value', 1000 + i, 1000,
       CASE i % 10 WHEN 0 THEN 'delisted' WHEN 1 THEN 'paused' ELSE 'active' END,
       i, i
FROM generate_series(1, :offers) AS i, v;
