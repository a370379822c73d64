/** Node roles (kept apart from the zod schema so that target resolution does not load zod). */
export const ROLES = ['chainfire', 'flaredb', 'plasmavmc-host', 'prismnet', 'iam', 'gateway'] as const
