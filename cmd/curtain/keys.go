package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
)

const keysAbout = `Manages the API keys that auth.require_api_key asks for on write routes.
  curtain keys create NAME [SCOPES]  makes a key (scopes: read, write, admin,
                                     comma-separated; default write) and prints
                                     it once: only its SHA-256 is stored
  curtain keys list                  lists the keys (id, name, scopes, state,
                                     and the key that replaced each)
  curtain keys rotate ID             makes a new key with the same name and
                                     scopes, prints it once, and gives it the
                                     links key ID owns; key ID keeps working,
                                     acting as the new key, until revoked
  curtain keys revoke ID             revokes a key at once`

// runKeys is `curtain keys create|list|rotate|revoke`.
func runKeys(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("keys", env)
	f.check = checkKeysArgs
	return withStoreFlags(ctx, env, f, args, func(store core.Store, _ config.Loaded, args []string) error {
		keys, ok := store.(core.KeyStore)
		if !ok {
			return fmt.Errorf("keys: this store does not keep API keys")
		}
		switch sub, rest := args[0], args[1:]; {
		case sub == "create" && (len(rest) == 1 || len(rest) == 2):
			scopes := core.ScopeWrite
			if len(rest) == 2 {
				scopes = rest[1]
			}
			list, err := core.ParseScopes(scopes)
			if err != nil {
				return fmt.Errorf("keys create: %w", err)
			}
			name := strings.TrimSpace(rest[0])
			if name == "" || len(name) > 100 {
				return fmt.Errorf("keys create: the name must have 1 to 100 characters")
			}
			secret, k, err := core.NewAPIKey(name, list, time.Now())
			if err != nil {
				return err
			}
			if err := keys.CreateAPIKey(ctx, &k); err != nil {
				return fmt.Errorf("keys create: %w", err)
			}
			printNewKey(env, secret, k)
			return nil
		case sub == "rotate" && len(rest) == 1:
			id, _ := strconv.ParseInt(rest[0], 10, 64) // checked by checkKeysArgs
			return rotateKey(ctx, env, keys, id)
		case sub == "list" && len(rest) == 0:
			list, err := keys.ListAPIKeys(ctx)
			if err != nil {
				return fmt.Errorf("keys list: %w", err)
			}
			fmt.Fprintf(env.stdout, "%-6s %-24s %-18s %-20s %-28s %s\n", "ID", "NAME", "SCOPES", "CREATED", "STATE", "REPLACED BY")
			for _, k := range list {
				state := "active"
				if k.RevokedAt != nil {
					state = "revoked " + k.RevokedAt.Format(time.RFC3339)
				}
				replaced := "-"
				if k.ReplacedBy != 0 {
					replaced = strconv.FormatInt(k.ReplacedBy, 10)
				}
				fmt.Fprintf(env.stdout, "%-6d %-24s %-18s %-20s %-28s %s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), k.CreatedAt.Format(time.RFC3339), state, replaced)
			}
			return nil
		case sub == "revoke" && len(rest) == 1:
			id, _ := strconv.ParseInt(rest[0], 10, 64) // checked by checkKeysArgs
			if err := keys.RevokeAPIKey(ctx, id, time.Now()); err != nil {
				if errors.Is(err, core.ErrNotFound) {
					return fmt.Errorf("keys revoke: no API key %d (see curtain keys list)", id)
				}
				return fmt.Errorf("keys revoke %d: %w", id, err)
			}
			fmt.Fprintf(env.stdout, "revoked key %d\n", id)
			return nil
		}
		return fmt.Errorf("keys: use create NAME [SCOPES], list, rotate ID or revoke ID (got %q)", strings.Join(args, " "))
	})
}

// printNewKey shows a key just made: the notice on stderr, the key alone
// on stdout, for scripts.
func printNewKey(env *cmdEnv, secret string, k core.APIKey) {
	fmt.Fprintf(env.stderr, "created key %d %q with scopes %s; it is shown only now:\n", k.ID, k.Name, strings.Join(k.Scopes, ","))
	fmt.Fprintln(env.stdout, secret)
}

// rotateKey is `curtain keys rotate ID`: a new key with key id's name and
// scopes takes over its links; key id acts as it until revoked.
func rotateKey(ctx context.Context, env *cmdEnv, keys core.KeyStore, id int64) error {
	old, err := apiKeyByID(ctx, keys, id)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	secret, k, err := core.NewAPIKey(old.Name, old.Scopes, time.Now())
	if err != nil {
		return err
	}
	if err := keys.RotateAPIKey(ctx, id, &k); err != nil {
		// The store refuses a revoked or replaced key, checked in its
		// transaction; the key as it is now says which, in words.
		if now, lerr := apiKeyByID(ctx, keys, id); lerr == nil && rotatable(now) != nil {
			return fmt.Errorf("keys rotate: %w", rotatable(now))
		}
		return fmt.Errorf("keys rotate %d: %w", id, err)
	}
	fmt.Fprintf(env.stderr, "key %d replaces key %d and owns its links; key %d acts as key %d until it is revoked (curtain keys revoke %d)\n", k.ID, id, id, k.ID, id)
	printNewKey(env, secret, k)
	return nil
}

// rotatable says why key k cannot be rotated, nil when it can.
func rotatable(k core.APIKey) error {
	switch {
	case k.RevokedAt != nil:
		return fmt.Errorf("key %d is revoked and cannot be rotated: create a new key instead (curtain keys create)", k.ID)
	case k.ReplacedBy != 0:
		return fmt.Errorf("key %d was already replaced by key %d: rotate key %d instead", k.ID, k.ReplacedBy, k.ReplacedBy)
	}
	return nil
}

// apiKeyByID returns key id from the list, or an error naming it.
func apiKeyByID(ctx context.Context, keys core.KeyStore, id int64) (core.APIKey, error) {
	list, err := keys.ListAPIKeys(ctx)
	if err != nil {
		return core.APIKey{}, err
	}
	for _, k := range list {
		if k.ID == id {
			return k, nil
		}
	}
	return core.APIKey{}, fmt.Errorf("no API key %d (see curtain keys list)", id)
}

// checkKeysArgs says what is wrong with the arguments of keys.
func checkKeysArgs(args []string) string {
	if len(args) == 0 {
		return "name a subcommand: create NAME [SCOPES], list, rotate ID or revoke ID"
	}
	switch sub, n := args[0], len(args)-1; {
	case sub == "create" && (n == 1 || n == 2), sub == "list" && n == 0:
		return ""
	case (sub == "revoke" || sub == "rotate") && n == 1:
		if id, err := strconv.ParseInt(args[1], 10, 64); err != nil || id < 1 {
			return fmt.Sprintf("%q is not a key id (see curtain keys list)", args[1])
		}
		return ""
	}
	return fmt.Sprintf("use create NAME [SCOPES], list, rotate ID or revoke ID (got %q)", strings.Join(args, " "))
}
