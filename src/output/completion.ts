/**
 * Shell scripts for `plasmactl completion bash|zsh`. They are thin: every candidate comes from the
 * hidden `plasmactl __complete`, which knows the commands, their flags and the names in the config
 * (contexts, nodes of the selected context, runbooks).
 */
export function completionScript(shell: 'bash' | 'zsh', bin: string): string {
  const fn = `_${bin.replaceAll(/\W/g, '_')}_complete`
  if (shell === 'bash') {
    return `# ${bin} completion for bash: eval "$(${bin} completion bash)" (e.g. in ~/.bashrc)
${fn}() {
  local IFS=$'\\n'
  COMPREPLY=($(${bin} __complete --shell bash -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F ${fn} ${bin}
`
  }
  return `#compdef ${bin}
# ${bin} completion for zsh: eval "$(${bin} completion zsh)" (after compinit), or save as _${bin} in $fpath
${fn}() {
  local -a candidates
  candidates=("\${(@f)$(${bin} __complete --shell zsh -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  [[ -n "\${candidates[1]}" ]] && compadd -Q -- "\${candidates[@]}"
}
compdef ${fn} ${bin}
`
}
