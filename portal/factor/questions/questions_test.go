package questions

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNormalize_R27(t *testing.T) {
	cases := map[string]string{
		"Rex":                     "rex",
		"  Mr.  Whiskers! ":       "mr. whiskers",
		"\tNew\u00a0\u00a0York\n": "new york", // NBSP is white space after NFKC
		"ＭＵＮＩＣＨ":                  "munich",   // full width
		"ÉCOLE":                   "école",
		"¿Dónde?":                 "dónde",
		"...":                     "",
		"a  -  b":                 "a - b",
		"Straße":                  "straße", // lower case, not case folding
	}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateSetupAccepts_R27(t *testing.T) {
	qs := []string{"Name of your first pet?", "City where you were born?", "Your first teacher?"}
	as := []string{"Rex", "Zürich", "Mrs Smith"}
	if err := ValidateSetup(qs, as, 3); err != nil {
		t.Fatalf("valid setup rejected: %v", err)
	}
	// minAnswers below 1 still needs one answer.
	if err := ValidateSetup(nil, nil, 0); !reasonsAre(err, -1, ReasonTooFew) {
		t.Fatalf("empty setup: %v", err)
	}
}

// TestValidateSetupRejects_R27: each rule of R27 gives its own reason on the
// right field, so the page can put the message next to it.
func TestValidateSetupRejects_R27(t *testing.T) {
	long := strings.Repeat("x", 41)
	cases := []struct {
		name  string
		qs    []string
		as    []string
		min   int
		field int
		want  Reason
	}{
		{"count mismatch", []string{"a?", "b?"}, []string{"xyz"}, 1, -1, ReasonCountMismatch},
		{"too few", []string{"q one?"}, []string{"abc"}, 2, -1, ReasonTooFew},
		{"too many", make([]string, 11), make([]string, 11), 1, -1, ReasonTooMany},
		{"answer too short", []string{"q one?", "q two?"}, []string{"abc", " ab! "}, 1, 1, ReasonAnswerTooShort},
		{"answer too long", []string{"q one?", "q two?"}, []string{long, "abc"}, 1, 0, ReasonAnswerTooLong},
		{"duplicate answer", []string{"q one?", "q two?"}, []string{"Rex", " rex!"}, 1, 1, ReasonDuplicateAnswer},
		{"duplicate question", []string{"Your pet?", "your  PET"}, []string{"rex", "tom"}, 1, 1, ReasonDuplicateQuestion},
		{"empty question", []string{" ?! "}, []string{"rex"}, 1, 0, ReasonQuestionEmpty},
		{"question too long", []string{strings.Repeat("q", 201)}, []string{"rex"}, 1, 0, ReasonQuestionTooLong},
		{"answer is the question", []string{"first pet"}, []string{"First pet!"}, 1, 0, ReasonAnswerInQuestion},
		{"answer contains the question", []string{"pet?"}, []string{"my pet rex"}, 1, 0, ReasonAnswerInQuestion},
		{"answer is words of the question", []string{"Name of your first pet?"}, []string{"first pet"}, 1, 0, ReasonAnswerInQuestion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSetup(tc.qs, tc.as, tc.min)
			if !errors.Is(err, ErrInvalidSetup) {
				t.Fatalf("err = %v, want ErrInvalidSetup", err)
			}
			if !reasonsAre(err, tc.field, tc.want) {
				t.Fatalf("err = %v, want field %d: %s", err, tc.field, tc.want)
			}
		})
	}
}

// TestValidateSetupPartOfWordIsFine_R27: an answer that merely shares
// letters with the question ("pete" in "competent") is not rejected.
func TestValidateSetupPartOfWordIsFine_R27(t *testing.T) {
	if err := ValidateSetup([]string{"Your most competent colleague?"}, []string{"pete"}, 1); err != nil {
		t.Fatal(err)
	}
}

func TestSetupErrorListsEveryField(t *testing.T) {
	err := ValidateSetup([]string{"q one?", "q two?", "q three?"}, []string{"ab", "rex", "REX"}, 4)
	var se SetupError
	if !errors.As(err, &se) {
		t.Fatalf("err %v is not a SetupError", err)
	}
	if !slices.Equal(se.For(-1), []Reason{ReasonTooFew}) ||
		!slices.Equal(se.For(0), []Reason{ReasonAnswerTooShort}) ||
		se.For(1) != nil ||
		!slices.Equal(se.For(2), []Reason{ReasonDuplicateAnswer}) {
		t.Fatalf("errors = %v", se)
	}
	if strings.Contains(strings.ToLower(err.Error()), "rex") {
		t.Fatalf("error text %q leaks an answer", err)
	}
	var fe FieldError
	if !errors.As(se[0], &fe) || !errors.Is(fe, ErrInvalidSetup) {
		t.Fatal("FieldError does not match ErrInvalidSetup")
	}
}

// reasonsAre reports whether err is a SetupError with reason want on field
// (and any others).
func reasonsAre(err error, field int, want Reason) bool {
	var se SetupError
	return errors.As(err, &se) && slices.Contains(se.For(field), want)
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Rex", "  Mr.  Whiskers! ", "ＭＵＮＩＣＨ", "\xff", "¿?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, Normalize(n))
		}
		if strings.Contains(n, "  ") || strings.TrimSpace(n) != n {
			t.Fatalf("white space left in %q", n)
		}
	})
}
