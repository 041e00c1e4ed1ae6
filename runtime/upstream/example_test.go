package upstream_test

import (
	"fmt"

	"github.com/edgeplane/edgeplane/runtime/upstream"
)

func ExampleMessage_Topic() {
	m := upstream.Message{
		Module: "sensor", Output: "temperature", ContentType: "application/json",
		MessageID: "17", Properties: map[string]string{"alert": "true"},
	}
	fmt.Println(m.Topic(upstream.DefaultTopicPrefix, "gw1"))
	// Output: edgeplane/gw1/messages/sensor/temperature/%24.ct=application%2Fjson&%24.mid=17&%24.on=temperature&alert=true
}
