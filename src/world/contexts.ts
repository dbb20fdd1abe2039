/** Surface contexts: the nouns of the world as data (world.md §1). Add a context by adding a row. */

/** One surface context: places (layer 0), items (layer 1) and the noun of a place's total. */
export interface Context {
  id: string;
  longName: string;
  places: readonly string[];
  items: readonly string[];
  /** Name of the abstract parameter without its place, e.g. "total number of adult animals". */
  total: string;
}

/** The three contexts of the reference. */
export const CONTEXTS: readonly Context[] = [
  {
    id: "zoo",
    longName: "crazy_zootopia",
    places: [
      "Beverly Forest",
      "Cedar Valley",
      "Oakridge Riverside",
      "Pine Ridge",
      "Maple Creek",
      "South Zoo",
      "Jefferson Circus",
      "Mayer Aquarium",
      "Bundle Ranch",
      "Hamilton Farm",
    ],
    items: [
      "adult bear",
      "adult wolf",
      "adult deer",
      "adult fox",
      "adult racoon",
      "adult eagle",
      "adult parrot",
      "adult owl",
      "adult blue jay",
      "adult crow",
    ],
    total: "total number of adult animals",
  },
  {
    id: "school",
    longName: "teachers_in_school",
    places: [
      "Evervale City",
      "Hawkesbury",
      "Glenfield City",
      "Westhaven City",
      "Brightford",
      "Riverton City",
      "Clearwater Bay",
      "Shoreline City",
      "Oakbridge City",
      "Ruby Bay",
    ],
    items: [
      "elementary school",
      "private middle school",
      "public highschool",
      "regional medical school",
      "culinarian school",
    ],
    total: "total number of schools",
  },
  {
    id: "movie",
    longName: "movie_festival_awards",
    places: [
      "Taylor Movie Festival",
      "Verdi Movie Festival",
      "West Sahara Movie Festival",
      "Northwood Movie Festival",
      "Golden Banana Movie Festival",
      "Festival Lumière de Valmont",
      "Rêves de Belleville",
      "Cinéma de Montreval",
      "Festival de Clairmont",
      "Festival de Saint-Rivage",
    ],
    items: [
      "upbeat metropolis comedy",
      "solemn period drama",
      "futuristic sci-fi movie",
      "calm road movie",
      "intense detective thriller",
    ],
    total: "total number of movies",
  },
];

/** Ids of the built-in contexts. */
export const CONTEXT_IDS: readonly string[] = CONTEXTS.map((c) => c.id);

/** Looks a context up by id (or long name); throws naming the known ids otherwise. */
export function getContext(id: string): Context {
  const c = CONTEXTS.find((x) => x.id === id || x.longName === id);
  if (!c) throw new Error(`unknown context "${id}" (known: ${CONTEXT_IDS.join(", ")})`);
  return c;
}
