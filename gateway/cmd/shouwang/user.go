package main

// `shouwang user add|passwd|role|remove|list`: the console's users, in
// the console database the running gateway reads them from at each login
// and request, so nothing needs a restart.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shouwang-iot/shouwang/gateway"
	"github.com/shouwang-iot/shouwang/gateway/auth"
)

const userUsage = `Usage:
  shouwang user add [-c FILE | -data DIR] [-role ROLE] NAME
  shouwang user passwd [-c FILE | -data DIR] NAME
  shouwang user role [-c FILE | -data DIR] NAME ROLE
  shouwang user remove [-c FILE | -data DIR] NAME
  shouwang user list [-c FILE | -data DIR]

The console's users. They are kept in DIR/` + auth.FileName + `, DIR being -data
or else the gateway.data_dir of the config file (default ` + defaultConfigFile + `).
There is no default user: add the first admin with
  shouwang user add -role admin NAME
add and passwd read the password as one line from stdin (at least 10
characters, at most 72 bytes, not the name); at a terminal they ask for it,
and it shows as it is typed. Roles: admin, operator (the default for add),
installer, fire, viewer. The running gateway sees every change at once;
passwd and remove end the user's sessions. Run this as the user the gateway
runs as, so the file stays writable by the gateway.
Exit status: 1 if it could not be done (the user exists, or does not; the
password is refused; the file could not be read or written); 2 if the
command line is wrong.
`

// userArgs is how many arguments each action takes, after the flags.
var userArgs = map[string]int{"add": 1, "passwd": 1, "role": 2, "remove": 1, "list": 0}

func cmdUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, userUsage)
		return 0
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	action := args[0]
	want, ok := userArgs[action]
	if !ok {
		fmt.Fprintf(stderr, "shouwang user: unknown command %q\n\n%s", action, userUsage)
		return 2
	}
	prefix := "shouwang user " + action
	fs := newFlagSet("user "+action, userUsage, stderr)
	config := fs.String("c", defaultConfigFile, "the config `file` whose gateway.data_dir holds "+auth.FileName)
	dataDir := fs.String("data", "", "the data `dir` that holds "+auth.FileName+" (instead of the config file's gateway.data_dir)")
	roleName := string(auth.RoleOperator)
	if action == "add" {
		fs.StringVar(&roleName, "role", roleName, "the new user's `role`: admin, operator, installer, fire or viewer")
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return parseExit(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["c"] && set["data"]:
		return fail(stderr, prefix, usagef("give -c FILE or -data DIR, not both"))
	case len(pos) != want:
		return fail(stderr, prefix, usagef("%s takes %s, not %q", action, argsWanted(action), pos))
	}
	if action == "role" {
		roleName = pos[1]
	}
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return fail(stderr, prefix, usagef("%v", err))
	}
	name := ""
	if len(pos) > 0 {
		name = pos[0]
	}
	if action == "add" {
		if err := auth.ValidUserName(name); err != nil {
			return fail(stderr, prefix, usagef("%v", err))
		}
	}

	path := auth.DefaultFile(*dataDir)
	if *dataDir == "" {
		plan, err := gateway.Load(*config)
		if err != nil {
			printProblems(stderr, err)
			if !set["c"] {
				fmt.Fprintf(stderr, "%s: name the config file with -c FILE, or the data directory with -data DIR\n", prefix)
			}
			return 1
		}
		path = auth.DefaultFile(plan.Config.Gateway.DataDir)
	}
	if action != "add" {
		// Only add may create the file: the others would leave an empty
		// one behind a typo in -data.
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if action == "list" {
				fmt.Fprintf(stderr, "%s does not exist yet: no users (shouwang user add -role admin NAME makes the first)\n", path)
				return 0
			}
			return fail(stderr, prefix, fmt.Errorf("%s does not exist yet: there are no users (shouwang user add makes the first)", path))
		}
	}
	// The password is checked before the file is opened, so that a
	// refused first add leaves no empty file behind.
	var password string
	if action == "add" || action == "passwd" {
		if password, err = readPassword(stdin, stderr); err != nil {
			return fail(stderr, prefix, err)
		}
		if err := auth.ValidPassword(name, password); err != nil {
			return fail(stderr, prefix, err)
		}
	}

	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := auth.Open(ctx, path, auth.DefaultConfig(), time.Now, logger)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	defer a.Close()
	var did, detail string
	switch action {
	case "add":
		err = a.AddUser(ctx, name, role, password)
		did, detail = fmt.Sprintf("added user %s (%s) to %s", name, role, path), "role "+string(role)
	case "passwd":
		err = a.SetPassword(ctx, name, password)
		did = fmt.Sprintf("changed the password of user %s in %s; their sessions have ended", name, path)
	case "role":
		err = a.SetRole(ctx, name, role)
		did, detail = fmt.Sprintf("user %s is now %s, from their next request (%s)", name, role, path), "role "+string(role)
	case "remove":
		err = a.RemoveUser(ctx, name)
		did = fmt.Sprintf("removed user %s from %s; their sessions have ended", name, path)
	case "list":
		err = listUsers(ctx, a, stdout)
	}
	if err != nil {
		return fail(stderr, prefix, err)
	}
	if action == "list" {
		return 0
	}
	// The journal shows user changes beside what users did; a change made
	// is not undone because it could not be journalled.
	if err := a.Audit(ctx, auth.Entry{User: osUser(), Action: "user " + action + " " + name, Remote: "command line", Detail: detail}); err != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", prefix, err)
	}
	fmt.Fprintln(stdout, did)
	return 0
}

func argsWanted(action string) string {
	switch userArgs[action] {
	case 0:
		return "no arguments"
	case 2:
		return "NAME ROLE"
	}
	return "one NAME"
}

// readPassword reads one line from stdin, asking for it at a terminal.
// The line shows as it is typed: hiding it needs golang.org/x/term,
// which the gateway does not link.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if isTerminal(stdin) {
		fmt.Fprint(stderr, "Password: ")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", usagef("no password on stdin (give it as one line, e.g. from a password manager or a file)")
	}
	return password, nil
}

func listUsers(ctx context.Context, a *auth.Auth, stdout io.Writer) error {
	users, err := a.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tADDED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, u.Created.Local().Format(time.DateTime+" MST"))
	}
	return tw.Flush()
}

// osUser names who ran the command, for the journal.
func osUser() string {
	if u, err := user.Current(); err == nil {
		return "os:" + u.Username
	}
	return "os:?"
}
