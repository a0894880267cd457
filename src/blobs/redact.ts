// Log paths pino blanks out: credentials of the object store, wherever an object carrying them is logged.

/** pino `redact` paths: AWS credentials and signed headers, at the top level and one level down. */
export const CREDENTIAL_LOG_PATHS: readonly string[] = ['accessKeyId', 'secretAccessKey', 'sessionToken', 'credentials', 'authorization', 'Authorization']
  .flatMap((key) => [key, `*.${key}`]);
