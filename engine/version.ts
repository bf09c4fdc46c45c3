/** The engine's version, recorded in every run's environment.json and saved adapter folder. */
export const ENGINE_VERSION = '0.1.0';
