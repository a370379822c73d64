/** Progress sink injected into services: they never print themselves. */
export interface Reporter {
  info(msg: string): void
  warn(msg: string): void
  debug(msg: string): void
}

export const silentReporter: Reporter = {info() {}, warn() {}, debug() {}}
