// Package invalid is how domain packages say that input is wrong, field by
// field, without knowing about HTTP: the API answers an *Error as a 422
// problem whose errors name each field, and the command line prints it.
package invalid
