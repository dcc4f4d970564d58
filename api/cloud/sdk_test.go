package cloud_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elastic/cloud-sdk-go/pkg/api"
	authapi "github.com/elastic/cloud-sdk-go/pkg/api/userapi/authapi"
	"github.com/elastic/cloud-sdk-go/pkg/auth"
	"github.com/elastic/cloud-sdk-go/pkg/client/authentication"
	"github.com/elastic/cloud-sdk-go/pkg/models"
	"github.com/elastic/cloud-sdk-go/pkg/util/ec"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
)

// sdkAs is cloud-sdk-go's API client of a running keyplane, authenticated
// by an Elastic Cloud key (the SDK's only credential keyplane takes: its
// user login asks for a bearer token).
func sdkAs(t *testing.T, a *app.App, key string) *api.API {
	t.Helper()
	w, err := auth.NewAPIKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.NewAPI(api.Config{Client: new(http.Client), AuthWriter: w, Host: a.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCloudSDKCreatesListsGetsAndDeletesKeys(t *testing.T) {
	a := testapp.Start(t)
	boot := createKey(t, a, owner, map[string]any{"description": "sdk"}).Must(t, http.StatusCreated)
	c := sdkAs(t, a, boot.Str("key"))

	made, err := authapi.CreateKey(authapi.CreateKeyParams{API: c, Description: "made by the sdk"})
	if err != nil {
		t.Fatal(err)
	}
	if err := made.Validate(nil); err != nil || made.Key == "" || *made.Description != "made by the sdk" || made.UserID != testapp.Owner {
		t.Fatalf("created %+v: %v", made, err)
	}
	// The generated client, with an expiration and role assignments.
	res, err := c.V1API.Authentication.CreateAPIKey(authentication.NewCreateAPIKeyParams().WithBody(&models.CreateAPIKeyRequest{
		Description: ec.String("viewer"), Expiration: "3d",
		RoleAssignments: &models.RoleAssignments{Deployment: []*models.DeploymentRoleAssignment{
			{OrganizationID: ec.String("default"), RoleID: ec.String("deployment-viewer"), All: ec.Bool(true)}}},
	}), c.AuthWriter)
	if err != nil {
		t.Fatal(err)
	}
	viewer := res.Payload
	if d := time.Time(viewer.ExpirationDate).Sub(time.Time(*viewer.CreationDate)).Round(time.Hour); d != 72*time.Hour {
		t.Fatalf("3d gave %v", d)
	}
	if ra := viewer.RoleAssignments; ra == nil || len(ra.Deployment) != 1 || *ra.Deployment[0].RoleID != "deployment-viewer" {
		t.Fatalf("role assignments %+v", viewer.RoleAssignments)
	}

	list, err := authapi.ListKeys(authapi.ListKeysParams{API: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := list.Validate(nil); err != nil || len(list.Keys) != 3 {
		t.Fatalf("listed %d keys (%v), want 3", len(list.Keys), err)
	}
	for _, k := range list.Keys {
		if k.Key != "" {
			t.Fatalf("a listed key shows its secret: %s", *k.ID)
		}
	}
	got, err := authapi.GetKey(authapi.GetKeyParams{API: c, ID: *made.ID})
	if err != nil || *got.ID != *made.ID || got.Key != "" {
		t.Fatalf("get %+v: %v", got, err)
	}

	if err := authapi.DeleteKey(authapi.DeleteKeyParams{API: c, ID: *made.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = authapi.GetKey(authapi.GetKeyParams{API: c, ID: *made.ID})
	if err == nil || !strings.Contains(err.Error(), "api_keys.key_not_found") {
		t.Fatalf("a deleted key: %v, want api_keys.key_not_found", err)
	}
	_, err = c.V1API.Authentication.DeleteAPIKeys(authentication.NewDeleteAPIKeysParams().
		WithBody(&models.DeleteAPIKeysRequest{Keys: []string{*viewer.ID, boot.Str("id")}}), c.AuthWriter)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authapi.ListKeys(authapi.ListKeysParams{API: c}); err == nil || !strings.Contains(err.Error(), "root.unauthenticated") {
		t.Fatalf("the deleted key itself is refused at once: %v", err)
	}
}
