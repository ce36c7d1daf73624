package invalid

import (
	"fmt"
	"time"
)

// Setting is one duration or count of a package's Options, by field name.
type Setting[T int | time.Duration] struct {
	Name  string
	Value T
}

// NotNegative is the error of the first setting below zero, or nil: in
// Options, zero means the default and a negative value is a mistake. pkg
// prefixes the message ("hooks: Options.Retention is negative (-1h0m0s);
// 0 means the default").
func NotNegative[T int | time.Duration](pkg string, settings []Setting[T]) error {
	for _, s := range settings {
		if s.Value < 0 {
			return fmt.Errorf("%s: Options.%s is negative (%v); 0 means the default", pkg, s.Name, s.Value)
		}
	}
	return nil
}

// Named is the setting name of value v.
func Named[T int | time.Duration](name string, v T) Setting[T] {
	return Setting[T]{Name: name, Value: v}
}

// Part is one part an Options struct must be given (a database, a queue).
type Part struct {
	Name  string
	Given bool
}

// Need is the part name, given or not.
func Need(name string, given bool) Part { return Part{Name: name, Given: given} }

// Required is the error of the first part not given, or nil ("hooks:
// Options.DB is required").
func Required(pkg string, parts ...Part) error {
	for _, p := range parts {
		if !p.Given {
			return fmt.Errorf("%s: Options.%s is required", pkg, p.Name)
		}
	}
	return nil
}
