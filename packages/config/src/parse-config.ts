import type { z } from 'zod';

/** A configuration value was wrong; `variables` names each offending environment variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config_invalid';
  readonly retriable = false;
  readonly variables: readonly string[];

  constructor(message: string, variables: readonly string[], options?: { cause?: unknown }) {
    super(message, options);
    this.variables = variables;
  }
}

/** Recursively freezes a parsed configuration so nothing can change it after start. */
function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses environment variables with a zod object schema whose keys are the variable names.
 * Empty values count as unset. Returns a deeply frozen result. Throws {@link ConfigError} naming every wrong variable and why.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): Readonly<z.output<S>> {
  // An empty variable (`FOO=`, common in compose files and manifests) means "use the default".
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(set);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({ variable: issue.path.join('.') || '(environment)', message: issue.message }));
    const text = problems.map((p) => `${p.variable}: ${p.message}`).join('; ');
    throw new ConfigError(
      `invalid configuration: ${text}`,
      problems.map((p) => p.variable),
      { cause: result.error },
    );
  }
  return deepFreeze(result.data);
}
