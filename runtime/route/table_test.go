package route

import (
	"reflect"
	"testing"
	"time"
)

func TestTableDeliveries(t *testing.T) {
	up := Sink{Kind: SinkUpstream}
	in := Sink{Kind: SinkModuleInput, Module: "filter", Input: "in"}
	entries := []Entry{
		{Name: "all", Route: MustParse("FROM /messages/* INTO $upstream"), Priority: 5, TTL: time.Hour},
		{Name: "hot", Route: MustParse("FROM /messages/* WHERE temp > 30 INTO $upstream"), Priority: 1, TTL: time.Minute},
		{Name: "hot2", Route: MustParse("FROM /messages/* WHERE temp > 30 INTO $upstream"), Priority: 1, TTL: time.Second},
		{Name: "filter", Route: MustParse(`FROM /messages/modules/sensor/* INTO BrokeredEndpoint("/modules/filter/inputs/in")`), Priority: 0},
		{Name: "nil"},
	}
	tests := []struct {
		name string
		m    Message
		want []Delivery
	}{
		{"leaf cold", Message{Properties: map[string]string{"temp": "20"}},
			[]Delivery{{Sink: up, Priority: 5, TTL: time.Hour, Route: "all"}}},
		{"leaf hot", Message{Properties: map[string]string{"temp": "40"}},
			[]Delivery{{Sink: up, Priority: 1, TTL: time.Minute, Route: "hot"}}},
		{"sensor hot", Message{Module: "sensor", Output: "o", Properties: map[string]string{"temp": "40"}},
			[]Delivery{{Sink: in, Priority: 0, Route: "filter"}, {Sink: up, Priority: 1, TTL: time.Minute, Route: "hot"}}},
		{"twin change", Message{TwinChange: true}, nil},
	}
	tab := NewTable(entries)
	if got, want := tab.Len(), 4; got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tab.Deliveries(&tt.m, nil)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
