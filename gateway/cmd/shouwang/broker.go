package main

// `shouwang broker user add|remove|list`: the embedded broker's users
// file. The running broker reads the file again when it changes, so
// nothing needs a restart.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shouwang-iot/shouwang/gateway"
	"github.com/shouwang-iot/shouwang/gateway/broker"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
)

const brokerUsage = `Usage:
  shouwang broker user add NAME [-generate] [-file PATH | -c FILE]
  shouwang broker user remove NAME [-file PATH | -c FILE]
  shouwang broker user list [-file PATH | -c FILE]

add sets NAME's password, adding the user or replacing the password: it
reads one line from stdin, or, when stdin is a terminal or -generate is
given, makes one up and prints it (once: the file keeps only a bcrypt hash).
The users file is PATH, else the broker.users_file of the config file
(default ` + defaultConfigFile + `), else <gateway.data_dir>/` + broker.UsersFileName + `.
The running broker reads the file again at the next connect: no restart.
Exit status: 1 if the file could not be read or written, or the user to
remove is not in it; 2 if the command line is wrong.
`

func cmdBroker(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help"):
		fmt.Fprint(stdout, brokerUsage)
		return 0
	case len(args) < 2 || args[0] != "user":
		fmt.Fprint(stderr, brokerUsage)
		return 2
	}
	switch args[1] {
	case "add", "remove", "list":
		return cmdBrokerUser(args[1], args[2:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "shouwang broker user: unknown command %q\n\n%s", args[1], brokerUsage)
	return 2
}

func cmdBrokerUser(action string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	prefix := "shouwang broker user " + action
	fs := newFlagSet("broker user "+action, brokerUsage, stderr)
	file := fs.String("file", "", "the users `file`")
	config := fs.String("c", defaultConfigFile, "the config `file` whose broker.users_file (or gateway.data_dir) to use")
	var generate bool
	if action == "add" {
		fs.BoolVar(&generate, "generate", false, "make up a password and print it, instead of reading stdin")
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["file"] && set["c"]:
		return fail(stderr, prefix, usagef("give -file PATH or -c FILE, not both"))
	case action == "list" && len(pos) > 0:
		return fail(stderr, prefix, usagef("list takes no NAME (got %s)", strings.Join(pos, " ")))
	case action != "list" && len(pos) != 1:
		return fail(stderr, prefix, usagef("one NAME, not %d (%s)", len(pos), strings.Join(pos, " ")))
	}
	path, err := usersFile(*file, *config, set["c"])
	if err != nil {
		return fail(stderr, prefix, err)
	}
	switch action {
	case "add":
		err = brokerUserAdd(path, pos[0], generate, stdin, stdout, stderr)
	case "remove":
		err = broker.RemoveUser(path, pos[0])
		if err == nil {
			fmt.Fprintf(stdout, "removed user %s from %s (a connection it has open stays until it ends)\n", pos[0], path)
		}
	case "list":
		err = brokerUserList(path, stdout, stderr)
	}
	if err != nil {
		return fail(stderr, prefix, err)
	}
	return 0
}

func brokerUserAdd(path, name string, generate bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := broker.ValidUserName(name); err != nil {
		return usagef("%v", err)
	}
	generate = generate || isTerminal(stdin)
	var password string
	if generate {
		password = broker.GeneratePassword()
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		if password = strings.TrimRight(line, "\r\n"); password == "" {
			return usagef("no password on stdin (give it as one line, or -generate to make one up)")
		}
	}
	replaced, err := broker.AddUser(path, name, password)
	if err != nil {
		return err
	}
	did := "added user " + name + " to"
	if replaced {
		did = "replaced the password of user " + name + " in"
	}
	if generate {
		// stdout holds the password alone, for a script to capture.
		fmt.Fprintln(stdout, password)
		fmt.Fprintf(stderr, "%s %s; its password is above, shown this once\n", did, path)
		return nil
	}
	fmt.Fprintf(stdout, "%s %s\n", did, path)
	return nil
}

func brokerUserList(path string, stdout, stderr io.Writer) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "%s does not exist yet: no users (shouwang broker user add NAME makes it)\n", path)
		return nil
	}
	names, err := broker.ListUsers(path)
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return err
}

// usersFile finds the users file: file if given, else from the config
// file, which is read only for broker.users_file and gateway.data_dir
// (the rest of it need not be valid). Relative paths are relative to the
// config file, as the gateway takes them.
func usersFile(file, config string, configGiven bool) (string, error) {
	if file != "" {
		return file, nil
	}
	src, err := os.ReadFile(config)
	if err != nil {
		if !configGiven {
			return "", fmt.Errorf("%w (name the users file with -file PATH, or the config file with -c FILE)", err)
		}
		return "", err
	}
	doc, err := yamlconf.Parse(config, src)
	if err != nil {
		return "", err
	}
	var path string
	dataDir := gateway.DefaultConfig().Gateway.DataDir
	errs := append(doc.Decode("broker.users_file", &path), doc.Decode("gateway.data_dir", &dataDir)...)
	if len(errs) > 0 {
		return "", errs
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(filepath.Dir(config), p)
	}
	if path != "" {
		return rel(path), nil
	}
	return broker.DefaultUsersFile(rel(dataDir)), nil
}
