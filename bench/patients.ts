/**
 * Deterministic synthetic patients for the search benchmark: patient `n` is
 * always the same, so a database seeded to 100 000 and then grown to
 * 1 000 000 holds exactly what a fresh 1 000 000 seed would, and the queries
 * can name values that are known to exist.
 *
 * Frequencies are skewed like real registers: a few family names are very
 * common (Zipf-like weights over 900 generated names), birth dates spread
 * over a century, gender nearly half and half, one identifier per patient.
 */

const familyStarts = [
  'Ab',
  'Bal',
  'Car',
  'Dor',
  'El',
  'Fen',
  'Gar',
  'Hol',
  'Ing',
  'Jas',
  'Kel',
  'Lor',
  'Mar',
  'Nor',
  'Ost',
  'Pel',
  'Quin',
  'Ros',
  'Sal',
  'Tor',
  'Ul',
  'Val',
  'Wes',
  'Yor',
  'Zan',
  'Brem',
  'Cres',
  'Dun',
  'Fal',
  'Grim',
];
const familyEnds = [
  'ley',
  'son',
  'ton',
  'berg',
  'ford',
  'man',
  'wick',
  'dale',
  'field',
  'mont',
  'stein',
  'ez',
  'ini',
  'ova',
  'sen',
  'by',
  'croft',
  'hurst',
  'well',
  'mer',
  'ridge',
  'wood',
  'ham',
  'ster',
  'lund',
  'quist',
  'gaard',
  'ovic',
  'escu',
  'akis',
];
const givenNames = [
  'Ada',
  'Benoît',
  'Chloé',
  'Dmitri',
  'Elif',
  'Farah',
  'Gustav',
  'Hana',
  'Ivo',
  'Jürgen',
  'Kofi',
  'Lena',
  'Mateo',
  'Nadia',
  'Omar',
  'Priya',
  'Quentin',
  'Rosa',
  'Søren',
  'Tomás',
  'Uma',
  'Viktor',
  'Wen',
  'Xavier',
  'Yara',
  'Zoë',
  'Amara',
  'Bruno',
  'Carmen',
  'Dario',
  'Emeka',
  'Freya',
  'Goran',
  'Helga',
  'Imani',
  'José',
  'Kenji',
  'Lucía',
  'Mirela',
  'Noah',
];

/** Every generated family name, most common first. */
export const familyNames: readonly string[] = familyStarts.flatMap((start) =>
  familyEnds.map((end) => `${start}${end}`),
);

/** A 32-bit integer hash of n and a salt (splitmix32-like): cheap, stateless, well spread. */
function hash(n: number, salt: number): number {
  let x = (n * 0x9e3779b1 + salt * 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Zipf-like pick from `length` items: item i has weight about 1 / (i + 10). */
function skewedIndex(n: number, salt: number, length: number): number {
  const u = hash(n, salt) / 2 ** 32;
  // Inverse CDF of a continuous 1/(x+10) density on [0, length).
  return Math.min(length - 1, Math.floor(10 * ((1 + length / 10) ** u - 1)));
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Patient number n (0-based) as a FHIR R4 Patient without id or meta. */
export function benchPatient(n: number): Record<string, unknown> {
  const family = familyNames[skewedIndex(n, 1, familyNames.length)]!;
  const given = givenNames[hash(n, 2) % givenNames.length]!;
  const day = hash(n, 3) % 36_525;
  const birth = new Date(Date.UTC(1920, 0, 1) + day * 86_400_000);
  const genderRoll = hash(n, 4) % 100;
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5.99999.1', value: `MRN${pad(n, 8)}` }],
    name: [{ family, given: [given] }],
    gender: genderRoll < 49 ? 'female' : genderRoll < 98 ? 'male' : 'other',
    birthDate: `${pad(birth.getUTCFullYear(), 4)}-${pad(birth.getUTCMonth() + 1, 2)}-${pad(birth.getUTCDate(), 2)}`,
    address: [
      {
        line: [`${String(1 + (hash(n, 5) % 999))} Main Street`],
        city: 'Springfield',
        postalCode: pad(hash(n, 6) % 100_000, 5),
      },
    ],
  };
}
