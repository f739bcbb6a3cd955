import countries from 'i18n-iso-countries';
import de from 'i18n-iso-countries/langs/de.json' with { type: 'json' };
import en from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
import es from 'i18n-iso-countries/langs/es.json' with { type: 'json' };
import fr from 'i18n-iso-countries/langs/fr.json' with { type: 'json' };
import it from 'i18n-iso-countries/langs/it.json' with { type: 'json' };
import nl from 'i18n-iso-countries/langs/nl.json' with { type: 'json' };
import pt from 'i18n-iso-countries/langs/pt.json' with { type: 'json' };

/** Languages whose country names are mapped to codes (English first). */
const LANGUAGES = [en, de, fr, es, it, pt, nl];
for (const language of LANGUAGES) countries.registerLocale(language);

/** Longest country name looked up; longer values are not names. */
const MAX_NAME_CHARS = 128;

/**
 * The ISO 3166-1 alpha-2 code (upper case) a pre-enriched `country` denotes, or null when it
 * denotes none: an assigned alpha-2 or alpha-3 code in any case, or a country name (official or
 * common, any case) in English, German, French, Spanish, Italian, Portuguese or Dutch as
 * i18n-iso-countries knows them. `ZZ`, the contract's "unknown", is null as well. Pure.
 */
export function toCountryCode(country: string): string | null {
  const text = country.trim();
  if (text.length === 0 || text.length > MAX_NAME_CHARS) return null;
  const upper = text.toUpperCase();
  if (/^[A-Z]{2}$/.test(upper)) return countries.isValid(upper) ? upper : null;
  if (/^[A-Z]{3}$/.test(upper)) {
    const alpha2 = countries.alpha3ToAlpha2(upper);
    if (alpha2 !== undefined) return alpha2;
  }
  for (const language of LANGUAGES) {
    const alpha2 = countries.getAlpha2Code(text, language.locale);
    if (alpha2 !== undefined) return alpha2;
  }
  return null;
}
