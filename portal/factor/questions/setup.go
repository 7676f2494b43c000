package questions

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a setup (R27).
const (
	MinAnswerLen   = 3  // runes, after Normalize
	MaxAnswerLen   = 40 // runes, after Normalize
	MaxQuestionLen = 200
	MaxQuestions   = 10
)

// Reason says what is wrong with one field of a setup; pages map it to a
// translated message.
type Reason string

// The reasons ValidateSetup gives.
const (
	ReasonCountMismatch     Reason = "count_mismatch"     // len(questions) != len(answers); Field is -1
	ReasonTooFew            Reason = "too_few"            // fewer than minAnswers; Field is -1
	ReasonTooMany           Reason = "too_many"           // more than MaxQuestions; Field is -1
	ReasonQuestionEmpty     Reason = "question_empty"     // Field is the question's index
	ReasonQuestionTooLong   Reason = "question_too_long"  // over MaxQuestionLen runes
	ReasonDuplicateQuestion Reason = "duplicate_question" // same as an earlier question
	ReasonAnswerTooShort    Reason = "answer_too_short"   // under MinAnswerLen runes
	ReasonAnswerTooLong     Reason = "answer_too_long"    // over MaxAnswerLen runes
	ReasonDuplicateAnswer   Reason = "duplicate_answer"   // same as an earlier answer
	ReasonAnswerInQuestion  Reason = "answer_in_question" // the question, or words of it
)

// ErrInvalidSetup matches (errors.Is) every error ValidateSetup returns.
var ErrInvalidSetup = errors.New("questions: invalid setup")

// FieldError is one problem: Field is the index of the question/answer
// pair it belongs to, or -1 for the form as a whole.
type FieldError struct {
	Field  int
	Reason Reason
}

func (e FieldError) Error() string {
	if e.Field < 0 {
		return fmt.Sprintf("questions: %s", e.Reason)
	}
	return fmt.Sprintf("questions: field %d: %s", e.Field, e.Reason)
}

// Is makes every FieldError match ErrInvalidSetup.
func (e FieldError) Is(target error) bool { return target == ErrInvalidSetup }

// SetupError lists every problem ValidateSetup found, in field order, so a
// page can show each message next to its field. Get it with errors.As.
type SetupError []FieldError

func (e SetupError) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "; ")
}

// Is makes a SetupError match ErrInvalidSetup.
func (e SetupError) Is(target error) bool { return target == ErrInvalidSetup }

// For returns the reasons given for field i (-1: the form).
func (e SetupError) For(i int) []Reason {
	var out []Reason
	for _, fe := range e {
		if fe.Field == i {
			out = append(out, fe.Reason)
		}
	}
	return out
}

// ValidateSetup checks a user's chosen questions and answers (R27): the
// counts match and are at least minAnswers (at least 1) and at most
// MaxQuestions; questions are non-empty and distinct; every normalised
// answer has 3–40 runes, differs from every other answer and is neither its
// question, nor contains it, nor is made of words of it ("pet" for "name of
// your first pet"). It returns nil or a SetupError.
func ValidateSetup(questions, answers []string, minAnswers int) error {
	minAnswers = max(minAnswers, 1)
	var errs SetupError
	form := func(r Reason) { errs = append(errs, FieldError{Field: -1, Reason: r}) }
	switch {
	case len(questions) != len(answers):
		form(ReasonCountMismatch)
		return errs
	case len(answers) > MaxQuestions:
		form(ReasonTooMany)
		return errs
	case len(answers) < minAnswers:
		form(ReasonTooFew)
	}
	seenQ := map[string]int{}
	seenA := map[string]int{}
	for i := range questions {
		q, a := Normalize(questions[i]), Normalize(answers[i])
		field := func(r Reason) { errs = append(errs, FieldError{Field: i, Reason: r}) }
		switch n := utf8.RuneCountInString(q); {
		case n == 0:
			field(ReasonQuestionEmpty)
		case n > MaxQuestionLen:
			field(ReasonQuestionTooLong)
		default:
			if _, dup := seenQ[q]; dup {
				field(ReasonDuplicateQuestion)
			}
			seenQ[q] = i
		}
		switch n := utf8.RuneCountInString(a); {
		case n < MinAnswerLen:
			field(ReasonAnswerTooShort)
			continue
		case n > MaxAnswerLen:
			field(ReasonAnswerTooLong)
			continue
		}
		if _, dup := seenA[a]; dup {
			field(ReasonDuplicateAnswer)
		}
		seenA[a] = i
		if q != "" && answerFromQuestion(q, a) {
			field(ReasonAnswerInQuestion)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// answerFromQuestion reports whether the normalised answer a equals or
// contains the normalised question q, or is a run of q's whole words.
func answerFromQuestion(q, a string) bool {
	if strings.Contains(a, q) {
		return true
	}
	w := words(a)
	return w != "" && strings.Contains(" "+words(q)+" ", " "+w+" ")
}

// words replaces punctuation by spaces and collapses the spaces.
func words(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	}), " ")
}
