package slogjournal

import "testing"

func TestFieldName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"module", "MODULE"},
		{"retry_in", "RETRY_IN"},
		{"a.b-c", "A_B_C"},
		{"_x", "X"},
		{"9lives", "LIVES"},
		{"", "FIELD"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := fieldName(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
