package notify

import (
	"errors"
	"fmt"
	"text/template/parse"
)

// allowedFuncs are the template functions a tenant's template may call:
// comparisons and logic only. print/printf (width bombs), call, index and
// slice are not needed for the flat view templates see.
var allowedFuncs = map[string]bool{
	"and": true, "or": true, "not": true, "len": true,
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
}

// checkTemplate keeps a tenant's template to what cannot run away: text,
// {{.Field}}, {{if}}, {{with}}, variables and allowedFuncs. It refuses
// {{range}} (Go ranges over integers: {{range 1000000000}}),
// {{template}}/{{define}}/{{block}} (recursion) and unknown nodes. defined is
// how many templates the parse produced (more than one: {{define}} was used).
func checkTemplate(tree *parse.Tree, defined int) error {
	if defined > 1 {
		return errors.New("{{define}} and {{block}} are not allowed")
	}
	if tree == nil || tree.Root == nil {
		return nil
	}
	return checkNode(tree.Root)
}

func checkNode(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c); err != nil {
				return err
			}
		}
		return nil
	case *parse.TextNode, *parse.CommentNode:
		return nil
	case *parse.ActionNode:
		return checkPipe(n.Pipe)
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return errors.New("{{range}} is not allowed")
	case *parse.TemplateNode:
		return errors.New("{{template}} is not allowed")
	default:
		return fmt.Errorf("%s is not allowed", n)
	}
}

func checkBranch(b *parse.BranchNode) error {
	if err := checkPipe(b.Pipe); err != nil {
		return err
	}
	if err := checkNode(b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return checkNode(b.ElseList)
	}
	return nil
}

func checkPipe(p *parse.PipeNode) error {
	if p == nil {
		return nil
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			if err := checkArg(arg); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkArg(n parse.Node) error {
	switch n := n.(type) {
	case *parse.IdentifierNode:
		if !allowedFuncs[n.Ident] {
			return fmt.Errorf("function %q is not allowed", n.Ident)
		}
		return nil
	case *parse.PipeNode:
		return checkPipe(n)
	case *parse.ChainNode:
		return checkArg(n.Node)
	case *parse.FieldNode, *parse.VariableNode, *parse.DotNode, *parse.StringNode,
		*parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return nil
	default:
		return fmt.Errorf("%s is not allowed", n)
	}
}
