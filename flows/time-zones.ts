/**
 * The time-zone choice: regions, each with cities whose IANA zone covers
 * most learners there. Learners elsewhere type a UTC offset or a zone name.
 */
export const regions: readonly { id: string; zones: readonly [city: string, zone: string][] }[] = [
  {
    id: "europe",
    zones: [
      ["London", "Europe/London"],
      ["Lisboa", "Europe/Lisbon"],
      ["Madrid", "Europe/Madrid"],
      ["Paris", "Europe/Paris"],
      ["Berlin", "Europe/Berlin"],
      ["Roma", "Europe/Rome"],
      ["Athína", "Europe/Athens"],
      ["İstanbul", "Europe/Istanbul"],
      ["Kyiv", "Europe/Kyiv"],
      ["Moskva", "Europe/Moscow"],
    ],
  },
  {
    id: "africa",
    zones: [
      ["Dakar", "Africa/Dakar"],
      ["Casablanca", "Africa/Casablanca"],
      ["Lagos", "Africa/Lagos"],
      ["Kinshasa", "Africa/Kinshasa"],
      ["Cairo", "Africa/Cairo"],
      ["Khartoum", "Africa/Khartoum"],
      ["Addis Ababa", "Africa/Addis_Ababa"],
      ["Nairobi", "Africa/Nairobi"],
      ["Johannesburg", "Africa/Johannesburg"],
    ],
  },
  {
    id: "middle-east",
    zones: [
      ["Beirut", "Asia/Beirut"],
      ["Damascus", "Asia/Damascus"],
      ["Amman", "Asia/Amman"],
      ["Baghdad", "Asia/Baghdad"],
      ["Riyadh", "Asia/Riyadh"],
      ["Dubai", "Asia/Dubai"],
      ["Tehran", "Asia/Tehran"],
    ],
  },
  {
    id: "asia",
    zones: [
      ["Kabul", "Asia/Kabul"],
      ["Karachi", "Asia/Karachi"],
      ["Delhi", "Asia/Kolkata"],
      ["Dhaka", "Asia/Dhaka"],
      ["Bangkok", "Asia/Bangkok"],
      ["Jakarta", "Asia/Jakarta"],
      ["Manila", "Asia/Manila"],
      ["Beijing", "Asia/Shanghai"],
      ["Tokyo", "Asia/Tokyo"],
    ],
  },
  {
    id: "americas",
    zones: [
      ["México", "America/Mexico_City"],
      ["Guatemala", "America/Guatemala"],
      ["Bogotá", "America/Bogota"],
      ["Lima", "America/Lima"],
      ["Caracas", "America/Caracas"],
      ["Santiago", "America/Santiago"],
      ["Buenos Aires", "America/Argentina/Buenos_Aires"],
      ["São Paulo", "America/Sao_Paulo"],
      ["New York", "America/New_York"],
      ["Los Angeles", "America/Los_Angeles"],
    ],
  },
  {
    id: "oceania",
    zones: [
      ["Sydney", "Australia/Sydney"],
      ["Port Moresby", "Pacific/Port_Moresby"],
      ["Suva", "Pacific/Fiji"],
      ["Auckland", "Pacific/Auckland"],
    ],
  },
];
