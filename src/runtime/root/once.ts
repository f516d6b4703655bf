// Built once per process (a Lambda container, `npm start`), reused by every invocation.

/** `build` runs on the first call; a failure is not remembered, so the next call tries again. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((err: unknown) => {
      built = undefined;
      throw err;
    });
    return built;
  };
}
