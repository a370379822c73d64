import net from 'node:net'

type IsIPv6 = ((input: string) => boolean) & {plasmactlQuick?: true}

/**
 * @grpc/grpc-js asks `net.isIPv6` about every address it connects to, IPv4 ones included, and Node
 * compiles its IPv6 pattern (some 2 KB of regular expression) on the first call and again when the
 * call gets hot: 10–25 ms of a cold `health` on a 2-core machine, more than its RPCs. An IPv6
 * address always has a colon, so a string without one is answered without the pattern; any other
 * input still goes to Node's check. Installed once, before the first channel is made.
 */
export function quickIsIPv6(): void {
  const original = net.isIPv6 as IsIPv6
  if (original.plasmactlQuick) return
  const quick: IsIPv6 = (input: string) => (typeof input === 'string' && !input.includes(':') ? false : original(input))
  quick.plasmactlQuick = true
  net.isIPv6 = quick
}
