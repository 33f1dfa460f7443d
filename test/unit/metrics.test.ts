import { describe, expect, it } from 'vitest';
import { normalizePath, isIdSegment, pathNormalizer } from '../../src/metrics/path.js';
import { createHostMatcher, hostWithoutPort } from '../../src/metrics/hosts.js';
import { boundDimensionValue, cleanDimensionValue, MAX_DIMENSION_VALUE_LENGTH } from '../../src/metrics/dimensions.js';
import {
  bucketLowerBoundMs, bucketValueMs, LATENCY_BUCKET_COUNT, LatencyHistogram, latencyBucket,
} from '../../src/metrics/latency.js';

describe('path normalisation', () => {
  const strip = { stripQueryString: true, normalizeIds: false };
  const keep = { stripQueryString: false, normalizeIds: false };
  const ids = { stripQueryString: true, normalizeIds: true };

  it('strips the query string and fragment by default', () => {
    expect(normalizePath('/search?q=secret&token=abc', strip)).toBe('/search');
    expect(normalizePath('/page#frag?x', strip)).toBe('/page');
    expect(normalizePath('/plain', strip)).toBe('/plain');
    expect(normalizePath('/?', strip)).toBe('/');
  });

  it('keeps the raw path when strip_query_string is false (the original behaviour)', () => {
    expect(normalizePath('/search?q=1', keep)).toBe('/search?q=1');
  });

  it('replaces numeric, UUID and hex-id segments with {id}', () => {
    expect(normalizePath('/users/12345/orders/9', ids)).toBe('/users/{id}/orders/{id}');
    expect(normalizePath('/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301/view', ids)).toBe('/items/{id}/view');
    expect(normalizePath('/objects/507f1f77bcf86cd799439011', ids)).toBe('/objects/{id}');
    expect(normalizePath('/commit/a1b2c3d4', ids)).toBe('/commit/{id}');
  });

  it('leaves words, short hex and versions alone', () => {
    expect(normalizePath('/api/v2/facade/decade/cafe', ids)).toBe('/api/v2/facade/decade/cafe');
    expect(normalizePath('/abc123', ids)).toBe('/abc123');
    expect(isIdSegment('deadbeefcafe')).toBe(false); // hex letters only: a word-like token
    expect(isIdSegment('2024')).toBe(true);
  });

  it('offers the same results as a per-request function with the options fixed', () => {
    const cases = ['/a?b', '/users/42?x=1', '/p#f', '/'];
    for (const options of [strip, keep, ids, { stripQueryString: false, normalizeIds: true }]) {
      const normalize = pathNormalizer(options);
      for (const path of cases) expect(normalize(path)).toBe(normalizePath(path, options));
    }
  });

  it('normalises ids before a kept query string without touching the query', () => {
    expect(normalizePath('/users/42?ref=7', { stripQueryString: false, normalizeIds: true })).toBe('/users/{id}?ref=7');
  });
});

describe('host matching', () => {
  it('matches everything when match_hosts is empty', () => {
    const matches = createHostMatcher([]);
    expect(matches('anything.test')).toBe(true);
    expect(matches('')).toBe(true);
  });

  it('matches exact names case-insensitively', () => {
    const matches = createHostMatcher(['Example.com']);
    expect(matches('example.com')).toBe(true);
    expect(matches('EXAMPLE.COM')).toBe(true);
    expect(matches('www.example.com')).toBe(false);
    expect(matches('example.com.evil')).toBe(false);
  });

  it('ignores the port of the authority', () => {
    const matches = createHostMatcher(['example.com', 'other.test:8080']);
    expect(matches('example.com:18000')).toBe(true);
    expect(matches('other.test:8080')).toBe(true);
    expect(matches('other.test')).toBe(false);
  });

  it('matches *.example.com wildcards on any subdomain, but not the bare domain', () => {
    const matches = createHostMatcher(['*.example.com']);
    expect(matches('a.example.com')).toBe(true);
    expect(matches('A.B.Example.com:443')).toBe(true);
    expect(matches('example.com')).toBe(false);
    expect(matches('badexample.com')).toBe(false);
  });

  it('keeps answering correctly past its cache bound', () => {
    const matches = createHostMatcher(['*.example.com']);
    for (let i = 0; i < 5000; i++) expect(matches(`h${i}.example.com`)).toBe(true);
    expect(matches('nope.test')).toBe(false);
  });

  it('splits host and port, IPv6 included', () => {
    expect(hostWithoutPort('example.com:80')).toBe('example.com');
    expect(hostWithoutPort('[::1]:80')).toBe('[::1]');
    expect(hostWithoutPort('::1')).toBe('::1');
    expect(hostWithoutPort('example.com')).toBe('example.com');
  });
});

describe('dimension values', () => {
  it('replaces missing or blank values and non-printable characters', () => {
    expect(cleanDimensionValue(undefined)).toBe('_unknown');
    expect(cleanDimensionValue('')).toBe('_unknown');
    expect(cleanDimensionValue('   ')).toBe('_unknown');
    expect(cleanDimensionValue('/caf\u00e9\u0001')).toBe('/caf??');
    expect(cleanDimensionValue('/ok path')).toBe('/ok path');
  });

  it('cuts long values', () => {
    expect(cleanDimensionValue('/' + 'a'.repeat(5000))).toHaveLength(MAX_DIMENSION_VALUE_LENGTH);
  });

  it('bounds values cheaply on the hot path, leaving the rest to cleanDimensionValue', () => {
    expect(boundDimensionValue(undefined)).toBe('_unknown');
    expect(boundDimensionValue('')).toBe('_unknown');
    expect(boundDimensionValue('/caf\u00e9')).toBe('/caf\u00e9');
    expect(boundDimensionValue('x'.repeat(300))).toHaveLength(MAX_DIMENSION_VALUE_LENGTH);
  });
});

describe('latency buckets', () => {
  it('has at most 150 distinct reported values, strictly increasing', () => {
    expect(LATENCY_BUCKET_COUNT).toBeLessThanOrEqual(150);
    const values = Array.from({ length: LATENCY_BUCKET_COUNT }, (_, i) => bucketValueMs(i));
    expect(new Set(values).size).toBe(LATENCY_BUCKET_COUNT);
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
  });

  it('maps every latency to a bucket whose value is within 6% (0.1 ms .. 300 s)', () => {
    for (let ms = 0.1; ms < 300_000; ms *= 1.013) {
      const bucket = latencyBucket(ms);
      expect(bucket).toBeGreaterThanOrEqual(1);
      expect(Math.abs(bucketValueMs(bucket) - ms) / ms).toBeLessThan(0.06);
      expect(bucketLowerBoundMs(bucket)).toBeLessThanOrEqual(ms * (1 + 1e-9));
    }
  });

  it('puts tiny, negative and NaN latencies in bucket 0 (value 0) and huge ones in the last bucket', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.05)).toBe(0);
    expect(latencyBucket(-3)).toBe(0);
    expect(latencyBucket(Number.NaN)).toBe(0);
    expect(bucketValueMs(0)).toBe(0);
    expect(latencyBucket(1e9)).toBe(LATENCY_BUCKET_COUNT - 1);
  });

  it('accumulates a sparse histogram and reports ascending Values/Counts', () => {
    const histogram = new LatencyHistogram();
    histogram.add(latencyBucket(250), 1);
    histogram.add(latencyBucket(3), 2);
    histogram.add(latencyBucket(250), 4);
    expect(histogram.size).toBe(2);
    expect(histogram.total()).toBe(7);
    expect(histogram.toFlat()).toEqual([latencyBucket(3), 2, latencyBucket(250), 5]);
    const { values, counts } = histogram.toValuesAndCounts();
    expect(values).toEqual([bucketValueMs(latencyBucket(3)), bucketValueMs(latencyBucket(250))]);
    expect(counts).toEqual([2, 5]);
    histogram.clear();
    expect(histogram.size).toBe(0);
    expect(histogram.total()).toBe(0);
  });
});
