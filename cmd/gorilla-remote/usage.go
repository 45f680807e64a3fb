package main

// usageTemplate is the help text's layout. It differs from kingpin's own in
// one way: the top-level help (`gorilla-remote --help`) also lists the
// flags of the default command, the server, since `gorilla-remote` alone
// runs it; a command's help (`gorilla-remote demo --help`) lists that
// command's flags.
const usageTemplate = `{{define "CmdLine" -}}
{{if .FlagSummary}} {{.FlagSummary}}{{end -}}
{{range .Args}}{{if not .Hidden}} {{if not .Required}}[{{end}}<{{.Name}}>{{if not .Required}}]{{end}}{{end}}{{end -}}
{{end -}}

{{define "CmdList" -}}
{{range .FlattenedCommands}}{{if not .Hidden}}  {{.FullCommand}}{{if .Default}} (default){{end}}{{template "CmdLine" .}}
{{.Help|Wrap 4}}
{{end}}{{end -}}
{{end -}}

{{if .Context.SelectedCommand -}}
usage: {{.App.Name}} {{.Context.SelectedCommand}}{{template "CmdLine" .Context.SelectedCommand}}

{{.Context.SelectedCommand.Help|Wrap 0}}
{{if .Context.Flags -}}
Flags:
{{.Context.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{end -}}
{{if .Context.Args -}}
Args:
{{.Context.Args|ArgsToTwoColumns|FormatTwoColumns}}
{{end -}}
{{else -}}
usage: {{.App.Name}} [<flags>] [<command> [<args> ...]]

{{.App.Help|Wrap 0}}
Flags:
{{.App.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{range .App.Commands}}{{if .Default -}}
Server flags (the default command, {{.Name}}; see docs/configuration.md):
{{.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{end}}{{end -}}
Commands:
{{template "CmdList" .App}}
{{end -}}
`
