// Where PutMetricData goes: the regional endpoint (China regions use the .cn partition).

export function defaultEndpoint(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `monitoring.${region}.${suffix}`;
}
