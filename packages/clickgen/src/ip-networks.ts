/**
 * Real public IPv4 /24 networks and the country geoip-lite (1.4.10 data) gives every address in
 * them (.1 to .254 checked when the list was made; `ip-networks.test.ts` re-checks samples against
 * the installed geoip-lite). A fixed list rather than runtime lookups keeps the generator fast,
 * free of geoip-lite's data load, and byte-identical per seed even when the geo data changes.
 *
 * Weights are rough shares of web traffic, so a few countries dominate and the tail is long.
 */
export interface CountryNetworks {
  readonly country: string;
  readonly weight: number;
  /** First three octets of /24 networks, e.g. `"82.33.112"`. */
  readonly prefixes: readonly string[];
}

export const COUNTRY_NETWORKS: readonly CountryNetworks[] = Object.freeze([
  { country: 'US', weight: 22, prefixes: ['165.91.25', '184.196.98', '137.238.132', '206.193.225'] },
  { country: 'IN', weight: 8, prefixes: ['171.76.0', '182.66.120', '117.220.4', '125.16.22'] },
  { country: 'DE', weight: 6, prefixes: ['139.19.183', '84.190.64', '89.166.210', '95.33.245'] },
  { country: 'GB', weight: 6, prefixes: ['82.33.112', '86.53.200', '2.27.176', '80.76.208'] },
  { country: 'BR', weight: 5, prefixes: ['179.153.34', '179.115.73', '177.154.248', '200.153.180'] },
  { country: 'FR', weight: 5, prefixes: ['81.250.249', '86.205.127', '176.135.50', '195.132.189'] },
  { country: 'JP', weight: 5, prefixes: ['125.11.167', '61.87.123', '115.65.131', '120.137.233'] },
  { country: 'CA', weight: 3, prefixes: ['174.115.49', '205.151.251', '167.114.135', '99.79.175'] },
  { country: 'ID', weight: 3, prefixes: ['39.235.182', '39.207.58', '36.80.79', '36.78.242'] },
  { country: 'MX', weight: 3, prefixes: ['177.228.12', '177.230.105', '187.198.245', '189.175.250'] },
  { country: 'IT', weight: 3, prefixes: ['5.168.246', '195.103.153', '5.94.115', '2.119.192'] },
  { country: 'ES', weight: 3, prefixes: ['83.32.181', '84.122.149', '188.84.67', '83.35.220'] },
  { country: 'KR', weight: 2, prefixes: ['210.221.110', '211.105.203', '165.141.87', '222.96.165'] },
  { country: 'RU', weight: 2, prefixes: ['95.27.212', '85.88.182', '37.190.43', '128.69.44'] },
  { country: 'TR', weight: 2, prefixes: ['176.219.28', '88.252.117', '160.75.169', '88.232.12'] },
  { country: 'AU', weight: 2, prefixes: ['120.23.55', '60.231.63', '159.196.11', '123.100.156'] },
  { country: 'NL', weight: 2, prefixes: ['81.59.224', '86.93.100', '89.106.165', '80.112.199'] },
  { country: 'PL', weight: 2, prefixes: ['37.7.90', '83.11.77', '46.134.90', '213.108.159'] },
  { country: 'VN', weight: 1.5, prefixes: ['14.228.126', '123.17.48', '171.250.19', '27.73.31'] },
  { country: 'PH', weight: 1.5, prefixes: ['49.149.249', '112.202.219', '122.54.142', '122.2.75'] },
  { country: 'NG', weight: 1, prefixes: ['197.234.49', '154.113.99', '41.73.242', '196.220.20'] },
  { country: 'EG', weight: 1, prefixes: ['62.114.59', '197.59.159', '41.233.207', '102.57.104'] },
  { country: 'AR', weight: 1, prefixes: ['181.85.247', '190.191.31', '190.93.220', '186.128.63'] },
  { country: 'CO', weight: 1, prefixes: ['181.249.225', '191.64.189', '181.130.56', '181.54.200'] },
  { country: 'ZA', weight: 1, prefixes: ['146.231.92', '196.214.131', '41.193.92', '196.61.111'] },
  { country: 'SE', weight: 1, prefixes: ['188.150.154', '81.92.64', '16.170.22', '78.79.197'] },
  { country: 'CH', weight: 1, prefixes: ['46.126.91', '109.203.52', '92.107.135', '85.1.62'] },
  { country: 'BE', weight: 1, prefixes: ['188.188.112', '188.5.239', '80.200.85', '109.128.114'] },
  { country: 'AT', weight: 0.8, prefixes: ['194.112.188', '141.244.231', '62.46.156', '162.25.23'] },
  { country: 'IE', weight: 0.8, prefixes: ['108.132.181', '86.41.35', '109.70.210', '86.43.202'] },
  { country: 'PT', weight: 0.8, prefixes: ['188.80.220', '148.63.225', '87.103.15', '213.13.224'] },
  { country: 'UA', weight: 0.8, prefixes: ['95.133.107', '212.79.117', '178.151.135', '212.90.164'] },
  { country: 'TH', weight: 0.8, prefixes: ['124.120.143', '150.109.183', '118.175.160', '119.46.175'] },
  { country: 'MY', weight: 0.8, prefixes: ['42.191.221', '202.190.198', '110.159.82', '120.50.53'] },
  { country: 'SG', weight: 0.8, prefixes: ['137.132.111', '115.66.246', '39.109.179', '27.96.104'] },
  { country: 'CL', weight: 0.6, prefixes: ['190.121.74', '170.79.42', '181.161.10', '190.20.68'] },
  { country: 'PE', weight: 0.6, prefixes: ['200.121.6', '200.106.36', '190.236.42', '179.6.54'] },
  { country: 'PK', weight: 0.6, prefixes: ['182.182.51', '39.38.142', '39.46.27', '182.185.188'] },
  { country: 'BD', weight: 0.6, prefixes: ['210.1.240', '103.20.180', '103.82.203', '103.112.62'] },
  { country: 'KE', weight: 0.5, prefixes: ['105.50.182', '196.106.232', '197.179.225', '196.105.162'] },
  { country: 'MA', weight: 0.5, prefixes: ['154.148.31', '196.78.152', '197.147.170', '154.147.184'] },
  { country: 'GR', weight: 0.5, prefixes: ['94.69.134', '89.210.197', '94.69.17', '79.166.63'] },
  { country: 'CZ', weight: 0.5, prefixes: ['85.135.30', '62.77.72', '195.47.127', '46.253.108'] },
  { country: 'RO', weight: 0.5, prefixes: ['109.166.219', '5.15.26', '109.100.159', '89.137.11'] },
  { country: 'IL', weight: 0.5, prefixes: ['95.86.72', '79.180.117', '109.226.33', '104.79.226'] },
  { country: 'NZ', weight: 0.4, prefixes: ['49.224.146', '58.84.229', '111.69.16', '47.72.130'] },
  { country: 'DK', weight: 0.4, prefixes: ['2.106.35', '62.61.151', '5.103.35', '91.100.237'] },
  { country: 'NO', weight: 0.4, prefixes: ['62.16.161', '158.39.186', '84.234.218', '81.191.119'] },
  { country: 'FI', weight: 0.4, prefixes: ['62.241.250', '89.27.5', '193.209.177', '86.60.213'] },
  { country: 'HU', weight: 0.4, prefixes: ['80.99.108', '185.128.26', '94.44.210', '88.132.239'] },
  { country: 'AE', weight: 0.4, prefixes: ['217.165.190', '92.96.206', '195.229.56', '94.59.182'] },
  { country: 'SA', weight: 0.4, prefixes: ['212.26.58', '46.153.185', '5.110.31', '5.163.55'] },
  { country: 'TW', weight: 0.4, prefixes: ['1.174.207', '140.96.37', '140.121.220', '163.16.92'] },
  { country: 'HK', weight: 0.4, prefixes: ['121.202.72', '58.177.150', '222.166.213', '218.253.64'] },
]);

/** Crawler operators' published networks (all US in geoip-lite). */
export const GOOGLEBOT_PREFIXES: readonly string[] = Object.freeze(['66.249.66', '66.249.79']);
export const BINGBOT_PREFIXES: readonly string[] = Object.freeze(['157.55.39', '40.77.167', '207.46.13']);
