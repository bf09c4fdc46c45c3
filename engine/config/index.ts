/** The experiment language: schema, validation and the resolved configuration. */
export * from './schema';
export * from './findings';
export * from './tree';
export * from './layers';
export * from './experiment';
export * from './projectFiles';
export * from './validate';
export * from './runsFolder';
export { SUPPRESSION_DIRECTIVE } from './suppress';
export { closest } from './suggest';
