package webhooks

import (
	"errors"
	"net/url"
)

// unwrapURLError drops the *url.Error wrapper, whose text names the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
